using System.Text;
using System.Text.Json;

using ActorMonitor.Celery.Dispatch;

namespace ActorMonitor.Rabbit.Tests;

/// <summary>A task message as Celery's send_task writes it (message protocol 2, JSON), and the reprs Celery's logs and Flower show.</summary>
public class TaskMessageTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    [Fact]
    public void Headers_name_the_task_and_carry_its_options_and_the_body_is_args_kwargs_and_embed()
    {
        var eta = new DateTimeOffset(2026, 12, 6, 20, 0, 1, 500, TimeSpan.Zero);
        var task = new TaskMessage("tasks.add", Json("[2, 3]"), Json("""{"z": "q"}"""), "", "e2e.tasks", Eta: eta) { Id = "id-1" };
        var (properties, body) = task.Encode("gen1@host");

        Assert.Equal(("application/json", "utf-8", "id-1"), (properties.ContentType, properties.ContentEncoding, properties.CorrelationId));
        var h = properties.Headers!;
        Assert.Equal("py", h["lang"]);
        Assert.Equal("tasks.add", h["task"]);
        Assert.Equal("id-1", h["id"]);
        Assert.Equal("id-1", h["root_id"]);
        Assert.Null(h["parent_id"]);
        Assert.Equal(0, h["retries"]);
        Assert.Equal("(2, 3)", h["argsrepr"]);
        Assert.Equal("{'z': 'q'}", h["kwargsrepr"]);
        Assert.Equal("gen1@host", h["origin"]);
        Assert.Equal("2026-12-06T20:00:01.500000+00:00", Encoding.UTF8.GetString((byte[])h["eta"]!));
        Assert.Null(h["expires"]);

        var message = JsonDocument.Parse(body).RootElement;
        Assert.Equal(3, message.GetArrayLength());
        Assert.Equal("[2,3]", message[0].GetRawText());
        Assert.Equal("q", message[1].GetProperty("z").GetString());
        Assert.Equal(["callbacks", "errbacks", "chain", "chord"], message[2].EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("[1]", true, "(1,)")]
    [InlineData("[]", true, "()")]
    [InlineData("""["it's", null, true, false, 1.5, [1, "a"]]""", true, """("it's", None, True, False, 1.5, [1, 'a'])""")]
    [InlineData("""{"a": {"b": "x\ny"}}""", false, """{'a': {'b': 'x\ny'}}""")]
    public void Python_repr_of_json_values(string json, bool tuple, string repr) => Assert.Equal(repr, PythonRepr.Of(Json(json), tuple));

    [Fact]
    public void A_control_reply_is_one_hostname_and_its_result_and_anything_else_is_ignored()
    {
        var reply = CeleryControl.ParseReply("""{"w1@h": {"ok": "pool will grow"}}"""u8);
        Assert.Equal("w1@h", reply!.Hostname);
        Assert.Equal("pool will grow", reply.Result.GetProperty("ok").GetString());
        Assert.Null(CeleryControl.ParseReply("not json"u8));
        Assert.Null(CeleryControl.ParseReply("[1]"u8));
        Assert.Null(CeleryControl.ParseReply("{}"u8));
    }
}
