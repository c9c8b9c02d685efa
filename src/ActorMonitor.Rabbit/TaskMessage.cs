using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorMonitor.Celery.Dispatch;
using RabbitMQ.Client;

namespace ActorMonitor.Rabbit;

/// <summary>
/// A task message as Celery's <c>send_task</c> writes it (message protocol 2, JSON;
/// celery/app/amqp.py as_task_v2): the headers name the task and carry its options, the body is
/// <c>[args, kwargs, {callbacks, errbacks, chain, chord}]</c>. Published to
/// <paramref name="Exchange"/> ("" is the default exchange) with <paramref name="RoutingKey"/>.
/// </summary>
public sealed record TaskMessage(
    string Name,
    JsonElement Args,
    JsonElement Kwargs,
    string Exchange,
    string RoutingKey,
    DateTimeOffset? Eta = null,
    DateTimeOffset? Expires = null)
{
    public string Id { get; init; } = Guid.NewGuid().ToString();

    internal (BasicProperties Properties, byte[] Body) Encode(string origin)
    {
        var headers = new Dictionary<string, object?>
        {
            ["lang"] = "py", ["task"] = Name, ["id"] = Id, ["shadow"] = null, ["eta"] = Iso(Eta), ["expires"] = Iso(Expires),
            ["group"] = null, ["group_index"] = null, ["retries"] = 0, ["timelimit"] = new List<object?> { null, null },
            ["root_id"] = Id, ["parent_id"] = null, ["argsrepr"] = PythonRepr.Of(Args, asTuple: true), ["kwargsrepr"] = PythonRepr.Of(Kwargs),
            ["origin"] = origin, ["ignore_result"] = false,
        };
        var properties = new BasicProperties
        {
            ContentType = "application/json", ContentEncoding = "utf-8", DeliveryMode = DeliveryModes.Persistent,
            CorrelationId = Id, ReplyTo = "", Headers = headers,
        };
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            Args.WriteTo(w);
            Kwargs.WriteTo(w);
            w.WriteStartObject();
            foreach (var k in new[] { "callbacks", "errbacks", "chain", "chord" }) w.WriteNull(k);
            w.WriteEndObject();
            w.WriteEndArray();
        }
        return (properties, buffer.ToArray());
    }

    // AMQP headers carry strings as bytes; Celery reads eta and expires with maybe_iso8601.
    private static byte[]? Iso(DateTimeOffset? t) =>
        t is { } v ? Encoding.UTF8.GetBytes(v.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture)) : null;
}
