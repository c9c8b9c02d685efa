using System.Text;
using System.Text.Json;
using ActorMonitor.Celery.Dispatch;
using ActorMonitor.Celery.Receiver;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Rabbit.Tests;

/// <summary>
/// Our EventDispatcher publishes to a real RabbitMQ; Celery's own EventReceiver + State
/// (Debian's python3-celery) consumes: Celery is the judge of what we send.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DispatcherCeleryTests(RabbitBroker broker, ITestOutputHelper output) : IClassFixture<RabbitBroker>
{
    private sealed class RecordingTransport(IEventTransport inner) : IEventTransport
    {
        public List<(string RoutingKey, string Body)> Sent { get; } = [];

        public async Task PublishAsync(string routingKey, ReadOnlyMemory<byte> body, CancellationToken ct)
        {
            await inner.PublishAsync(routingKey, body, ct);
            lock (Sent) Sent.Add((routingKey, Encoding.UTF8.GetString(body.Span)));
        }
    }

    private static KeyValuePair<string, object?> F(string k, object? v) => new(k, v);

    private static KeyValuePair<string, object?>[] WorkerFields(double freq = 2.0) =>
        [F("freq", freq), F("active", 0), F("processed", 1), F("loadavg", new[] { 0.52, 0.25, 0.1 }), F("sw_ident", "py-celery"), F("sw_ver", "5.2.6"), F("sw_sys", "Linux")];

    private async Task<(ChildProcess Reference, string Out)> StartReferenceAsync(string stopAfter)
    {
        var output = Path.Combine(Path.GetTempPath(), $"dispatcher-{Guid.NewGuid():N}.json");
        var reference = ChildProcess.Start("reference", "/usr/bin/python3",
            [Repo.Path("tests", "e2e", "reference_consumer.py"), broker.Url, output, stopAfter], Repo.Path("tests", "e2e"));
        await reference.WaitForStdoutLineAsync(l => l == "ready", TimeSpan.FromSeconds(60));
        return (reference, output);
    }

    private async Task<JsonDocument> ResultAsync(ChildProcess reference, string file)
    {
        Assert.Equal(0, await reference.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));
        output.WriteLine(reference.Stderr);
        return JsonDocument.Parse(await File.ReadAllTextAsync(file));
    }

    private static void AssertReceivedExactly(JsonDocument result, IReadOnlyList<(string RoutingKey, string Body)> sent, string hostnameHeader)
    {
        var received = result.RootElement.GetProperty("received").EnumerateArray().ToList();
        Assert.Equal(sent.Count, received.Count);
        for (var i = 0; i < sent.Count; i++)
        {
            Assert.Equal(sent[i].RoutingKey, received[i].GetProperty("routing_key").GetString());
            // json.loads then json.dumps gives back our bytes: same keys, order, types and formatting.
            Assert.Equal(sent[i].Body, received[i].GetProperty("body").GetString());
            Assert.Equal("application/json", received[i].GetProperty("content_type").GetString());
            Assert.Equal("utf-8", received[i].GetProperty("content_encoding").GetString());
            Assert.Equal(1, received[i].GetProperty("delivery_mode").GetInt32());
            Assert.Equal(sent[i].Body.Contains("\"gen42@e2e\"") ? "gen42@e2e" : hostnameHeader, received[i].GetProperty("headers").GetProperty("hostname").GetString());
        }
    }

    [Fact]
    public async Task Celerys_receiver_accepts_our_events_and_builds_the_state_they_describe()
    {
        var (reference, file) = await StartReferenceAsync("worker-offline");
        await using (reference)
        {
            var clock = new LamportClock();
            await using var workerTransport = new RabbitEventTransport(broker.Url, "dotnet@e2e");
            await using var clientTransport = new RabbitEventTransport(broker.Url, "gen42@e2e");
            var recorded = new RecordingTransport(workerTransport);
            var recordedClient = new RecordingTransport(clientTransport);
            var worker = new EventDispatcher(recorded, new DispatcherOptions { Hostname = "dotnet@e2e", BufferGroups = new HashSet<string> { "task" }, BufferLimit = 3 }, clock);
            var client = new EventDispatcher(recordedClient, new DispatcherOptions { Hostname = "gen42@e2e", Enabled = false }, new LamportClock());
            var pool = new EventDispatcher(recorded, new DispatcherOptions { Hostname = "dotnet@e2e" }, clock);

            await worker.SendAsync("worker-online", WorkerFields());
            await client.PublishAsync("task-sent", [F("uuid", "t-1"), F("root_id", "t-1"), F("parent_id", null), F("name", "dotnet.add"), F("args", "(1, 2)"), F("kwargs", "{}"), F("retries", 0), F("eta", null), F("expires", null), F("queue", "celery"), F("exchange", ""), F("routing_key", "celery")]);
            await worker.SendAsync("task-received", [F("uuid", "t-1"), F("name", "dotnet.add"), F("args", "(1, 2)"), F("kwargs", "{}"), F("root_id", "t-1"), F("parent_id", null), F("retries", 0), F("eta", null), F("expires", null)]);
            await worker.SendAsync("task-started", [F("uuid", "t-1")]);
            await pool.SendAsync("task-progress", [F("uuid", "t-1"), F("current", 1), F("total", 2), F("note", "caf\u00e9 \ud83d\ude00")]);
            await worker.SendAsync("task-succeeded", [F("uuid", "t-1"), F("result", "3"), F("runtime", 8.461500004841582e-05)]); // third buffered: one task.multi
            await worker.SendAsync("task-received", [F("uuid", "t-2"), F("name", "dotnet.fail"), F("args", "()"), F("kwargs", "{}"), F("root_id", "t-2"), F("parent_id", null), F("retries", 0), F("eta", null), F("expires", null)]);
            await worker.SendAsync("task-failed", [F("uuid", "t-2"), F("exception", "ValueError('boom')"), F("traceback", "Traceback (most recent call last):\n  ...\nValueError: boom\n")]);
            Assert.True(await worker.FlushAsync()); // a partial batch
            await worker.SendAsync("worker-heartbeat", WorkerFields(freq: 5));
            await worker.SendAsync("worker-offline", WorkerFields());

            using var result = await ResultAsync(reference, file);
            var sent = recorded.Sent.Concat(recordedClient.Sent).ToList();
            AssertReceivedExactly(result, ArrivalOrder(result, sent), "dotnet@e2e");
            Assert.Equal(new[] { "task.multi", "task.multi", "task.progress", "task.sent", "worker.heartbeat", "worker.offline", "worker.online" },
                result.RootElement.GetProperty("received").EnumerateArray().Select(r => r.GetProperty("routing_key").GetString()).Order(StringComparer.Ordinal));

            var state = result.RootElement;
            Assert.Equal(10, state.GetProperty("event_count").GetInt32());
            Assert.Equal(2, state.GetProperty("task_count").GetInt32());
            Assert.Equal(["dotnet.add", "dotnet.fail"], state.GetProperty("task_types").EnumerateArray().Select(e => e.GetString()));
            var t1 = state.GetProperty("tasks").GetProperty("t-1");
            Assert.Equal(("SUCCESS", "3", "dotnet@e2e", "gen42@e2e"), (t1.GetProperty("state").GetString(), t1.GetProperty("result").GetString(), t1.GetProperty("worker").GetString(), t1.GetProperty("client").GetString()));
            Assert.Equal(8.461500004841582e-05, t1.GetProperty("runtime").GetDouble());
            Assert.Equal("FAILURE", state.GetProperty("tasks").GetProperty("t-2").GetProperty("state").GetString());
            var w = state.GetProperty("workers").GetProperty("dotnet@e2e");
            Assert.Equal(0, w.GetProperty("heartbeats").GetArrayLength()); // offline
            Assert.Equal(Environment.ProcessId, w.GetProperty("pid").GetInt32());
            Assert.Equal("5.2.6", w.GetProperty("sw_ver").GetString());
        }
    }

    [Fact]
    public async Task A_broker_outage_with_buffer_while_offline_then_flush_loses_nothing_and_keeps_order()
    {
        await using var transport = new RabbitEventTransport(broker.Url, "dotnet@outage");
        var recorded = new RecordingTransport(transport);
        var warnings = new List<string>();
        var dispatcher = new EventDispatcher(recorded, new DispatcherOptions { Hostname = "dotnet@outage", BufferGroups = new HashSet<string> { "task" }, BufferLimit = 4 }, new LamportClock(), warn: warnings.Add);

        await broker.StopAsync();
        await dispatcher.SendAsync("worker-online", WorkerFields());
        for (var i = 0; i < 10; i++)
        {
            await dispatcher.SendAsync("task-received", [F("uuid", $"o-{i}"), F("name", "dotnet.add"), F("args", $"({i}, {i})"), F("kwargs", "{}")]);
            await dispatcher.SendAsync("task-succeeded", [F("uuid", $"o-{i}"), F("result", $"{2 * i}"), F("runtime", 0.5)]);
        }
        await dispatcher.SendAsync("worker-offline", WorkerFields());
        Assert.Empty(recorded.Sent);
        Assert.True(dispatcher.Pending >= 6);
        Assert.False(await dispatcher.FlushAsync()); // still down: kept, not lost
        Assert.Contains(warnings, w => w.Contains("unreachable"));

        await broker.StartAsync();
        var (reference, file) = await StartReferenceAsync("worker-offline");
        await using (reference)
        {
            Assert.True(await dispatcher.FlushAsync());
            Assert.Equal(0, dispatcher.Pending);
            using var result = await ResultAsync(reference, file);
            AssertReceivedExactly(result, recorded.Sent, "dotnet@outage");
            var clocks = result.RootElement.GetProperty("received").EnumerateArray()
                .SelectMany(r => BodyEvents(r.GetProperty("body").GetString()!)).Select(e => e.GetProperty("clock").GetInt64()).ToList();
            Assert.Equal(22, clocks.Count);
            Assert.Equal(clocks.Order(), clocks); // published in the order they were sent
            Assert.Equal(10, result.RootElement.GetProperty("task_count").GetInt32());
            Assert.All(result.RootElement.GetProperty("tasks").EnumerateObject(), t => Assert.Equal("SUCCESS", t.Value.GetProperty("state").GetString()));
        }
    }

    private static List<JsonElement> BodyEvents(string body)
    {
        var doc = JsonDocument.Parse(body).RootElement;
        return doc.ValueKind == JsonValueKind.Array ? doc.EnumerateArray().ToList() : [doc];
    }

    // Several connections publish: the broker's arrival order is the one to compare in.
    private static List<(string RoutingKey, string Body)> ArrivalOrder(JsonDocument result, List<(string RoutingKey, string Body)> sent) =>
        result.RootElement.GetProperty("received").EnumerateArray()
            .Select(r => sent.Where(s => s.Body == r.GetProperty("body").GetString()).DefaultIfEmpty((r.GetProperty("routing_key").GetString()!, "<not sent by us>")).First())
            .ToList();
}
