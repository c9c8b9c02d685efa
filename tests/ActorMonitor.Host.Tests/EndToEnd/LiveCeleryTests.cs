using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// The slow tier: a real RabbitMQ, real Celery 5 workers (Debian's python3-celery), real node
/// processes. Celery's own EventReceiver + State listens beside the node and is the judge.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class LiveCeleryTests(RabbitBroker broker, ITestOutputHelper output) : IClassFixture<RabbitBroker>
{
    private const string Python = "/usr/bin/python3";
    private static readonly string E2eDir = Repo.Path("tests", "e2e");

    private Dictionary<string, string> CeleryEnv => CeleryEnvWith("json");

    // E2E_EVENT_SERIALIZER: kombu's event_serializer of the workers, the client and the reference.
    private Dictionary<string, string> CeleryEnvWith(string eventSerializer) =>
        new() { ["E2E_BROKER"] = broker.Url, ["PYTHONPATH"] = E2eDir, ["E2E_EVENT_SERIALIZER"] = eventSerializer };

    private ChildProcess Worker(string name, string pool, string eventSerializer = "json") => ChildProcess.Start(name, Python,
        ["-m", "celery", "-A", "e2e_tasks", "worker", "-E", "-n", name, "-P", pool, "-c", "2", "--without-mingle", "-l", "warning"],
        E2eDir, CeleryEnvWith(eventSerializer));

    [Fact]
    public Task Node_state_equals_celerys_own_state_with_real_workers() => CompareWithCelerysStateAsync("json");

    /// <summary>The same run with kombu's msgpack event serializer: Celery's receiver applies those events, and so must the node.</summary>
    [Fact]
    public Task Node_state_equals_celerys_own_state_with_msgpack_events() => CompareWithCelerysStateAsync("msgpack");

    private async Task CompareWithCelerysStateAsync(string eventSerializer)
    {
        // Celery's workers now and then lose task events: a task it logged as failed stays STARTED
        // or RECEIVED for Celery's own receiver as for the node. Such a run did not exercise the
        // mix, so it runs once more; a difference from Celery's state fails at once, in any run.
        for (var attempt = 1; ; attempt++)
        {
            var shortfall = await RunOnceAsync(eventSerializer);
            if (shortfall is null) return;
            Assert.True(attempt < 2, $"two runs in a row did not exercise the task mix: {shortfall}");
            output.WriteLine($"Celery's own state shows the task mix incomplete ({shortfall}); running it once more");
        }
    }

    /// <returns>Null when the run exercised the task mix, else what Celery's own state lacked.</returns>
    private async Task<string?> RunOnceAsync(string eventSerializer)
    {
        var env = CeleryEnvWith(eventSerializer);
        var referenceOut = Path.Combine(Path.GetTempPath(), $"reference-{Guid.NewGuid():N}.json");
        await using var reference = ChildProcess.Start("reference", Python, [Path.Combine(E2eDir, "reference_consumer.py"), broker.Url, referenceOut], E2eDir, env);
        await reference.WaitForStdoutLineAsync(l => l == "ready", TimeSpan.FromSeconds(60));
        await using var node = await LiveNode.StartAsync(broker.Url);

        // Both consumers are bound before any event exists, so they see the same stream.
        await using var w1 = Worker("w1@e2e", "prefork", eventSerializer);
        await using var w2 = Worker("w2@e2e", "threads", eventSerializer);
        try
        {
            return await RunTaskMixAsync(node, reference, w1, w2, referenceOut, env);
        }
        catch
        {
            foreach (var p in new[] { w1, w2, reference, node.Process })
                output.WriteLine($"--- {p.Name} (exited: {p.HasExited})\n{LiveNode.Tail(p.Stdout, 2000)}\n{LiveNode.Tail(p.Stderr)}");
            throw;
        }
    }

    private async Task<string?> RunTaskMixAsync(LiveNode node, ChildProcess reference, ChildProcess w1, ChildProcess w2, string referenceOut, Dictionary<string, string> env)
    {
        await node.WaitUntilAsync(async () =>
        {
            using var s = await node.StateAsync();
            var workers = s.RootElement.GetProperty("alive_workers").EnumerateArray().Select(e => e.GetString()).ToList();
            return workers.Contains("w1@e2e") && workers.Contains("w2@e2e");
        }, TimeSpan.FromSeconds(120), "both workers to be alive in the node's state");

        await using (var client = ChildProcess.Start("client", Python, [Path.Combine(E2eDir, "client.py")], E2eDir, env))
        {
            await client.WaitForStdoutLineAsync(l => int.TryParse(l, out _), TimeSpan.FromSeconds(60));
        }
        // Done when all 19 tasks left PENDING and RECEIVED (which final state each reaches depends on
        // the pool and on arrival order; the reference judges that), or when no task changed for 10 s:
        // a Celery worker now and then keeps a countdown task RECEIVED until its warm shutdown, and
        // the reference sees that too.
        var lastStates = "";
        var since = DateTime.UtcNow;
        try
        {
            await node.WaitUntilAsync(async () =>
            {
                using var s = await node.StateAsync();
                var tasks = s.RootElement.GetProperty("tasks").EnumerateObject().ToList();
                var states = string.Join(", ", tasks.Select(t => $"{t.Value.GetProperty("name").GetString()}{t.Value.GetProperty("args")}={t.Value.GetProperty("state").GetString()}"));
                if (states != lastStates) (lastStates, since) = (states, DateTime.UtcNow); // heartbeats go on: watch the tasks
                var settled = tasks.All(t => t.Value.GetProperty("state").GetString() is not ("PENDING" or "RECEIVED"));
                return tasks.Count >= 19 && (settled || DateTime.UtcNow - since > TimeSpan.FromSeconds(10));
            }, TimeSpan.FromSeconds(90), "the task mix to finish");
        }
        finally
        {
            output.WriteLine("task states: " + lastStates);
        }

        Assert.Equal(0, await w1.TerminateAsync(TimeSpan.FromSeconds(60))); // warm shutdown: worker-offline
        Assert.Equal(0, await w2.TerminateAsync(TimeSpan.FromSeconds(60)));
        await node.WaitForQuietAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60));
        await reference.TerminateAsync(TimeSpan.FromSeconds(30));

        var cli = await Cli.RunAsync("state", "--url", node.Url);
        Assert.Equal(0, cli.ExitCode);
        using var ours = JsonDocument.Parse(cli.Stdout);
        using var celery = JsonDocument.Parse(await File.ReadAllTextAsync(referenceOut));
        var diffs = StateComparison.Differences(celery.RootElement, ours.RootElement, new HashSet<string> { "heartbeats", "alive" },
            ["event_count", "task_count", "task_types", "tasks", "workers", "tasks_by_time"]);
        foreach (var d in diffs.Take(30)) output.WriteLine(d);
        Assert.Empty(diffs);

        // The events went over the wire in the serializer under test, and the node refused none.
        var contentTypes = celery.RootElement.GetProperty("received").EnumerateArray().Select(m => m.GetProperty("content_type").GetString()).Distinct().ToList();
        Assert.Equal([env["E2E_EVENT_SERIALIZER"] == "msgpack" ? "application/x-msgpack" : "application/json"], contentTypes);
        using (var stats = await node.StatsAsync())
            Assert.Equal(0, stats.RootElement.GetProperty("rejected").GetInt64());

        foreach (var w in new[] { "w1@e2e", "w2@e2e" })
            Assert.Equal(0, ours.RootElement.GetProperty("workers").GetProperty(w).GetProperty("heartbeats").GetArrayLength()); // offline
        Assert.Equal(0, await node.Process.TerminateAsync(TimeSpan.FromSeconds(60))); // graceful leave, exit 0

        // Whether the run exercised what it claims to, by Celery's own state (equal to ours above).
        var tasks = celery.RootElement.GetProperty("tasks").EnumerateObject().ToList();
        var tasksByState = tasks.GroupBy(t => t.Value.GetProperty("state").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        output.WriteLine(string.Join(", ", tasksByState.Select(kv => $"{kv.Key}={kv.Value}")));
        var shortfalls = new List<string>();
        if (tasksByState.GetValueOrDefault("SUCCESS") < 11) shortfalls.Add("fewer than 11 SUCCESS"); // 14 adds less 2 revoked and, at times, one countdown left RECEIVED
        if (tasksByState.GetValueOrDefault("FAILURE") < 1) shortfalls.Add("no FAILURE");
        if (tasksByState.GetValueOrDefault("REVOKED") < 2) shortfalls.Add("fewer than 2 REVOKED");
        if (!celery.RootElement.GetProperty("task_types").EnumerateArray().Any(e => e.GetString() == "e2e_tasks.progress")) shortfalls.Add("no e2e_tasks.progress");
        if (!tasks.Any(t => t.Value.GetProperty("retries").ValueKind == JsonValueKind.Number && t.Value.GetProperty("retries").GetInt32() >= 1)) shortfalls.Add("no retried task");
        return shortfalls.Count == 0 ? null : string.Join(", ", shortfalls);
    }

    [Fact]
    public async Task Pickle_yaml_and_unknown_bodies_are_refused_unread_and_counted_by_cause()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"unpickled-{Guid.NewGuid():N}");
        await using var node = await LiveNode.StartAsync(broker.Url);
        await using (var publisher = ChildProcess.Start("publisher", Python, [Path.Combine(E2eDir, "publish_refused.py"), broker.Url, marker], E2eDir, CeleryEnv))
            Assert.Equal(0, await publisher.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));
        await node.WaitUntilAsync(async () => await node.MessagesAsync() == 4, TimeSpan.FromSeconds(30), "the four messages");

        Assert.False(File.Exists(marker), "the pickle body was unpickled");
        Assert.False(File.Exists(marker + ".yaml"), "the YAML body was loaded");
        using var stats = await node.StatsAsync();
        var byCause = stats.RootElement.GetProperty("rejections").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["RefusedPickle"] = 1, ["RefusedYaml"] = 1, ["UnknownContentType"] = 1 }, byCause);
        Assert.Equal(3, stats.RootElement.GetProperty("rejected").GetInt64());
        using var state = await node.StateAsync();
        var workers = state.RootElement.GetProperty("workers").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["after@refused"], workers); // the JSON heartbeat after them is applied; nothing of theirs is
        Assert.True((await node.HealthAsync()).Ok);
        Assert.Equal(0, await node.Process.TerminateAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Node_carries_on_by_itself_when_the_broker_restarts()
    {
        // A capture recorded from real Celery workers, published in two halves around a broker restart.
        var lines = (await File.ReadAllLinesAsync(Corpus.Capture("real-mixed-1"))).Where(l => l.Trim().Length > 0).ToArray();
        var first = Path.Combine(Path.GetTempPath(), $"first-{Guid.NewGuid():N}.jsonl");
        var second = Path.Combine(Path.GetTempPath(), $"second-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllLinesAsync(first, lines[..(lines.Length / 2)]);
        await File.WriteAllLinesAsync(second, lines[(lines.Length / 2)..]);

        await using var node = await LiveNode.StartAsync(broker.Url, "--config", "actormonitor.receiver.utcoffset = 0");
        Assert.Equal(0, (await Cli.RunAsync("publish", first, "--broker", broker.Url)).ExitCode);
        await node.WaitUntilAsync(async () => await node.MessagesAsync() == lines.Length / 2, TimeSpan.FromSeconds(30), "the first half");

        await broker.StopAsync();
        await node.WaitUntilAsync(async () => !(await node.HealthAsync()).Ok, TimeSpan.FromSeconds(30), "the health check to report the broker gone");
        using (var whileDown = await node.StateAsync()) // queries are still served
            Assert.True(whileDown.RootElement.GetProperty("event_count").GetInt64() > 0);
        var unreachable = await Cli.RunAsync("publish", second, "--broker", broker.Url);
        Assert.Equal(2, unreachable.ExitCode);
        Assert.StartsWith("actormonitor: cannot reach broker", unreachable.Stderr.Trim());

        await broker.StartAsync();
        await node.WaitUntilAsync(async () => (await node.HealthAsync()).Ok, TimeSpan.FromSeconds(60), "the node to reconnect by itself");
        Assert.Equal(0, (await Cli.RunAsync("publish", second, "--broker", broker.Url)).ExitCode);
        await node.WaitUntilAsync(async () => await node.MessagesAsync() == lines.Length, TimeSpan.FromSeconds(30), "the second half");

        using var ours = await node.StateAsync();
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Corpus.Expected("real-mixed-1")));
        var diffs = StateComparison.Differences(expected.RootElement, ours.RootElement, new HashSet<string> { "heartbeats", "alive" },
            ["event_count", "task_count", "task_types", "tasks", "workers", "tasks_by_time"]);
        foreach (var d in diffs.Take(30)) output.WriteLine(d);
        Assert.Empty(diffs);
        using var stats = await node.StatsAsync();
        Assert.True(stats.RootElement.GetProperty("broker").GetProperty("reconnects").GetInt64() >= 1);
    }

    [Fact]
    public async Task Capture_records_and_dump_prints_what_publish_sends()
    {
        var source = Corpus.Capture("real-mixed-1");
        var lines = File.ReadAllLines(source).Where(l => l.Trim().Length > 0).ToArray();
        var recorded = Path.Combine(Path.GetTempPath(), $"capture-{Guid.NewGuid():N}.jsonl");
        await using var capture = ChildProcess.Actormonitor("capture", "capture", recorded, "8", "--broker", broker.Url, "--log-level", "info");
        await using var dump = ChildProcess.Actormonitor("dump", "dump", "--broker", broker.Url, "--log-level", "info");
        // Each says on stderr (at info level) when its queue is bound: from then on it misses nothing.
        await Task.WhenAll(WaitForStderrAsync(dump, "dumping events"), WaitForStderrAsync(capture, "capturing into"));
        Assert.Equal(0, (await Cli.RunAsync("publish", source, "--broker", broker.Url)).ExitCode);

        await dump.WaitForStdoutLineAsync(l => l.StartsWith("w1@demo-1 [") && l.Contains("] shutdown: "), TimeSpan.FromSeconds(30)); // the capture's last message
        Assert.Equal(0, await capture.TerminateAfterExitAsync(TimeSpan.FromSeconds(30)));
        var got = File.ReadAllLines(recorded);
        Assert.Equal(lines.Length, got.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            using var want = JsonDocument.Parse(lines[i]);
            using var have = JsonDocument.Parse(got[i]);
            foreach (var key in new[] { "routing_key", "body" })
                Assert.Equal(want.RootElement.GetProperty(key).GetString(), have.RootElement.GetProperty(key).GetString());
            Assert.Equal(want.RootElement.GetProperty("headers").GetProperty("hostname").GetString(), have.RootElement.GetProperty("headers").GetProperty("hostname").GetString());
            Assert.Equal(1, have.RootElement.GetProperty("properties").GetProperty("delivery_mode").GetInt32());
            Assert.True(have.RootElement.GetProperty("local_received").GetDouble() > 1.7e9);
        }

        await dump.TerminateAsync(TimeSpan.FromSeconds(30));
        var dumped = dump.Stdout.Split('\n');
        Assert.Contains(dumped, l => l.StartsWith("w1@demo-1 [") && l.Contains("] started: "));
        Assert.Contains(dumped, l => l.StartsWith("w1@demo-1 [") && l.Contains("] shutdown: "));
        Assert.Contains(dumped, l => l.Contains("] task received: tasks.add(") && l.Contains(" args=(1, 2) kwargs={} clock="));
        Assert.Contains(dumped, l => l.Contains("] task progress: "));
        File.Delete(recorded);
    }

    private static async Task WaitForStderrAsync(ChildProcess p, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!p.Stderr.Contains(text))
        {
            if (DateTime.UtcNow > deadline || p.HasExited) throw new TimeoutException($"{p.Name}: {p.Stderr}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_burst_of_125000_messages_is_applied_in_full_with_default_settings()
    {
        var capture = Path.Combine(Path.GetTempPath(), $"burst-{Guid.NewGuid():N}.jsonl");
        await using (var synth = ChildProcess.Start("synth", Python, [Repo.Path("tools", "oracle", "synth.py"), capture, "--tasks", "100000"]))
            Assert.Equal(0, await synth.TerminateAfterExitAsync(TimeSpan.FromMinutes(2)));
        var events = File.ReadLines(capture).Sum(l =>
        {
            using var rec = JsonDocument.Parse(l);
            using var body = JsonDocument.Parse(rec.RootElement.GetProperty("body").GetString()!);
            return body.RootElement.ValueKind == JsonValueKind.Array ? body.RootElement.GetArrayLength() : 1;
        });

        await using var node = await LiveNode.StartAsync(broker.Url);
        var started = DateTime.UtcNow;
        var publish = await Cli.RunAsync("publish", capture, "--broker", broker.Url, "--log-level", "info");
        Assert.Equal(0, publish.ExitCode);
        output.WriteLine(publish.Stderr.Trim());
        await node.WaitUntilAsync(async () =>
        {
            using var stats = await node.StatsAsync();
            return stats.RootElement.GetProperty("accepted_events").GetInt64() >= events && stats.RootElement.GetProperty("in_flight").GetInt32() == 0;
        }, TimeSpan.FromMinutes(5), $"all {events} events");
        output.WriteLine($"{events} events applied {(DateTime.UtcNow - started).TotalSeconds:F1} s after publishing started");

        using var state = await node.StateAsync();
        Assert.Equal(events, state.RootElement.GetProperty("event_count").GetInt64());
        Assert.Equal(100_000, state.RootElement.GetProperty("tasks").EnumerateObject().Count());
        using var after = await node.StatsAsync();
        Assert.Equal(0, after.RootElement.GetProperty("broker").GetProperty("overflowed").GetInt64());
        Assert.Equal(0, after.RootElement.GetProperty("rejected").GetInt64());
        File.Delete(capture);
    }
}
