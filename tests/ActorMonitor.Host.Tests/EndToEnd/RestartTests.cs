using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// A node stopped in the middle of a published capture (kill -9, or SIGTERM), then started again on
/// the same SQLite file and shared queue: the final state equals Celery's expected state for the
/// capture: nothing lost, nothing counted twice.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class RestartTests(RabbitBroker broker, PostgresServer postgres, ITestOutputHelper output)
    : IClassFixture<RabbitBroker>, IClassFixture<PostgresServer>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-restart-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("kill", null, "sqlite")]
    [InlineData("kill", 100, "sqlite")]
    [InlineData("term", null, "sqlite")]
    [InlineData("kill", 100, "postgres")]
    public async Task A_node_stopped_mid_stream_resumes_and_ends_with_celerys_state(string stop, int? maxTasksInMemory, string store)
    {
        var journal = store == "postgres" ? await postgres.NewJournalAsync() : "sqlite:" + Path.Combine(_dir, "state.db");
        const string corpus = "synth-2k-shuffled";
        var total = File.ReadLines(Corpus.Capture(corpus)).Count(l => l.Trim().Length > 0);
        string[] args =
        [
            "--journal", journal, "--node-id", $"restart-{Guid.NewGuid():N}",
            "--config", "actormonitor.receiver.utcoffset = 0",
            .. maxTasksInMemory is { } max ? new[] { "--max-tasks-in-memory", max.ToString() } : [],
        ];

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var first = await LiveNode.StartAsync(broker.Url, args);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: first node up");
        await using var publish = ChildProcess.Actormonitor("publish", "publish", Corpus.Capture(corpus), "--broker", broker.Url, "--rate", "1500");
        long before;
        try
        {
            await first.WaitUntilAsync(async () => await first.MessagesAsync() >= total / 3, TimeSpan.FromSeconds(60), "a third of the capture");
            if (stop == "kill") await first.Process.KillAsync();
            else Assert.Equal(0, await first.Process.TerminateAsync(TimeSpan.FromSeconds(60)));
            before = total / 3;
        }
        finally
        {
            await first.DisposeAsync();
        }
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: first node stopped");
        Assert.Equal(0, await publish.TerminateAfterExitAsync(TimeSpan.FromSeconds(60))); // the rest waits in the shared queue
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: capture published");
        output.WriteLine($"stopped ({stop}) after at least {before} of {total} messages");

        await using var second = await LiveNode.StartAsync(broker.Url, args);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: second node up");
        // The node runs under the managed-heap limit "auto" gives its entity limits.
        var limitMb = (128L << 20) + ((maxTasksInMemory ?? 10_000) + 5_000) * (8L << 10) + 10_000 * (2L << 10) >> 20;
        Assert.Contains($"managed heap limit {limitMb} MB", second.Process.Stderr);
        await second.WaitUntilAsync(async () =>
        {
            using var stats = await second.StatsAsync();
            var r = stats.RootElement;
            return r.GetProperty("messages").GetInt64() >= total && r.GetProperty("in_flight").GetInt32() == 0 && r.GetProperty("awaiting_checkpoint").GetInt32() == 0;
        }, TimeSpan.FromSeconds(90), "every message");

        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: every message applied");
        using var ours = await second.StateAsync();
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Corpus.Expected(corpus)));
        var diffs = StateComparison.Differences(expected.RootElement, ours.RootElement, new HashSet<string> { "heartbeats", "alive" },
            ["event_count", "task_count", "task_types", "tasks", "workers", "tasks_by_time"]);
        foreach (var d in diffs.Take(30)) output.WriteLine(d);
        using (var stats = await second.StatsAsync()) output.WriteLine(stats.RootElement.ToString());
        Assert.Empty(diffs);
        Assert.Equal(expected.RootElement.GetProperty("messages").GetInt64(), ours.RootElement.GetProperty("messages").GetInt64());

        // One task, the cheap way: the schema of tasks[uuid]; exit code 3 for an unknown uuid.
        var some = expected.RootElement.GetProperty("tasks").EnumerateObject().First();
        var one = await Cli.RunAsync("state", "--url", second.Url, "--task", some.Name);
        Assert.Equal(0, one.ExitCode);
        using (var want = JsonDocument.Parse($"{{\"tasks\": {{\"{some.Name}\": {some.Value.GetRawText()}}}}}"))
        using (var got = JsonDocument.Parse($"{{\"tasks\": {{\"{some.Name}\": {one.Stdout}}}}}"))
            Assert.Empty(StateComparison.Differences(want.RootElement, got.RootElement, keys: ["tasks"]));
        var unknown = await Cli.RunAsync("state", "--url", second.Url, "--task", "no-such-task");
        Assert.Equal(3, unknown.ExitCode);
        Assert.Contains("unknown task no-such-task", unknown.Stderr);

        Assert.Equal(0, await second.Process.TerminateAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task A_database_outage_stops_acks_and_the_node_resumes_when_it_is_back()
    {
        const string corpus = "synth-2k";
        var lines = (await File.ReadAllLinesAsync(Corpus.Capture(corpus))).Where(l => l.Trim().Length > 0).ToArray();
        var first = Path.Combine(_dir, "first.jsonl");
        var second = Path.Combine(_dir, "second.jsonl");
        await File.WriteAllLinesAsync(first, lines[..(lines.Length / 3)]);
        await File.WriteAllLinesAsync(second, lines[(lines.Length / 3)..]);

        await using var node = await LiveNode.StartAsync(broker.Url, "--journal", await postgres.NewJournalAsync(),
            "--node-id", $"outage-{Guid.NewGuid():N}", "--config", "actormonitor.receiver.utcoffset = 0");
        Assert.Equal(0, (await Cli.RunAsync("publish", first, "--broker", broker.Url)).ExitCode);
        await node.WaitUntilAsync(async () => await AckedAsync(node) == lines.Length / 3, TimeSpan.FromSeconds(30), "the first third acked");

        await postgres.StopAsync();
        try
        {
            Assert.Equal(0, (await Cli.RunAsync("publish", second, "--broker", broker.Url)).ExitCode);
            await node.WaitUntilAsync(async () => (await node.HealthAsync()).Text.Contains("journal: failing"), TimeSpan.FromSeconds(30), "the health check to report the journal");
            Assert.False((await node.HealthAsync()).Ok);
            var acked = await AckedAsync(node);
            await Task.Delay(TimeSpan.FromSeconds(2)); // nothing more may be acked while the database is gone
            Assert.Equal(acked, await AckedAsync(node));
            Assert.Equal(lines.Length / 3, acked);
            Assert.Contains("nothing is acked", node.Process.Stderr, StringComparison.OrdinalIgnoreCase);
            Assert.False(node.Process.HasExited);
        }
        finally
        {
            await postgres.StartAsync();
        }

        await node.WaitUntilAsync(async () => await AckedAsync(node) == lines.Length && (await node.HealthAsync()).Ok,
            TimeSpan.FromSeconds(60), "every message acked once the database is back");
        using var ours = await node.StateAsync();
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Corpus.Expected(corpus)));
        var diffs = StateComparison.Differences(expected.RootElement, ours.RootElement, new HashSet<string> { "heartbeats", "alive" },
            ["event_count", "task_count", "task_types", "tasks", "workers", "tasks_by_time"]);
        foreach (var d in diffs.Take(30)) output.WriteLine(d);
        Assert.Empty(diffs);
        Assert.Equal(lines.Length, ours.RootElement.GetProperty("messages").GetInt64());
    }

    private static async Task<long> AckedAsync(LiveNode node)
    {
        using var stats = await node.StatsAsync();
        return stats.RootElement.GetProperty("broker").GetProperty("acked").GetInt64();
    }
}
