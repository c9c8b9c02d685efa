using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// The palettes against a running cluster of two node processes on one PostgreSQL journal, with
/// few live tasks per node so most of the published corpus is passivated: membership, sharding
/// figures that add up to the corpus, tasks and workers as Celery's State has them, the actor
/// tree, and a graceful leave of the second node.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class CmdClusterTests(RabbitBroker broker, PostgresServer postgres, ITestOutputHelper output)
    : IClassFixture<RabbitBroker>, IClassFixture<PostgresServer>
{
    private const string CorpusName = "synth-2k";
    private const int MaxTasksInMemory = 300;

    [Fact]
    public async Task The_palettes_describe_a_two_node_cluster_and_make_a_node_leave()
    {
        var total = File.ReadLines(Corpus.Capture(CorpusName)).Count(l => l.Trim().Length > 0);
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Corpus.Expected(CorpusName)));
        var expectedTasks = expected.RootElement.GetProperty("tasks");
        var taskCount = expectedTasks.EnumerateObject().Count();

        var journal = await postgres.NewJournalAsync();
        var ports = new[] { Repo.FreePort(), Repo.FreePort() };
        var seeds = string.Join(",", ports.Select(p => $"akka.tcp://actormonitor@127.0.0.1:{p}"));
        var queue = $"cmd-{Guid.NewGuid():N}";
        string[] Args(int i) =>
        [
            "--journal", journal, "--node-id", queue, "--node-name", $"node-{i + 1}",
            "--akka-port", ports[i].ToString(), "--seed-nodes", seeds, "--max-tasks-in-memory", MaxTasksInMemory.ToString(),
            "--config", "actormonitor.receiver.utcoffset = 0",
        ];
        var addresses = ports.Select(p => $"akka.tcp://actormonitor@127.0.0.1:{p}").ToArray();

        await using var first = await LiveNode.StartAsync(broker.Url, Args(0));
        await using var second = await LiveNode.StartAsync(broker.Url, Args(1));
        async Task<Cli.Result> Cmd(params string[] args) => await Cli.RunAsync(["cmd", "--url", first.Url, .. args]);

        // cluster show: both members Up, in the table and in the JSON.
        await first.WaitUntilAsync(async () => await UpMembersAsync(first.Url) == 2, TimeSpan.FromSeconds(60), "two members up");
        var show = await Cmd("cluster", "show");
        Assert.Equal(0, show.ExitCode);
        output.WriteLine(show.Stdout);
        foreach (var address in addresses)
            Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(address)}\s+Up\s+monitor\s+yes\b", show.Stdout);
        Assert.Contains("leader: akka.tcp://actormonitor@127.0.0.1:", show.Stdout);

        await using (var publish = ChildProcess.Actormonitor("publish", "publish", Corpus.Capture(CorpusName), "--broker", broker.Url))
            Assert.Equal(0, await publish.TerminateAfterExitAsync(TimeSpan.FromSeconds(120)));
        await first.WaitUntilAsync(async () => await StateMessagesAsync(first) >= total, TimeSpan.FromSeconds(120), "every message durable");

        // Sharding: live plus passivated entities are the corpus's tasks, per shard and per node.
        var shardStats = await JsonAsync(Cmd("cluster", "sharding", "shard-stats", "task", "--json"));
        var t = shardStats.RootElement.GetProperty("totals");
        output.WriteLine($"task shards: {t}");
        Assert.Equal(taskCount, t.GetProperty("entities").GetInt32());
        Assert.Equal(taskCount, t.GetProperty("stored").GetInt32());
        Assert.True(t.GetProperty("passivated").GetInt32() > 0, "with few live tasks per node, most are passivated");
        var shards = shardStats.RootElement.GetProperty("shards").EnumerateArray().ToList();
        Assert.Equal(taskCount, shards.Sum(s => s.GetProperty("live").GetInt32() + s.GetProperty("passivated").GetInt32()));
        var nodes = shardStats.RootElement.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(addresses.Order(), nodes.Select(n => n.GetProperty("node").GetString()!).Order());
        Assert.All(nodes, n => Assert.True(n.GetProperty("shards").GetInt32() > 0, $"{n}: hosts task shards"));
        Assert.All(nodes, n => Assert.InRange(n.GetProperty("live").GetInt32(), 1, MaxTasksInMemory)); // the keeper's bound, per node
        Assert.Equal(taskCount, nodes.Sum(n => n.GetProperty("live").GetInt32() + n.GetProperty("passivated").GetInt32()));

        var regionStats = await JsonAsync(Cmd("cluster", "sharding", "region-stats", "task", "--json"));
        Assert.Equal(taskCount, regionStats.RootElement.GetProperty("totals").GetProperty("entities").GetInt32());
        Assert.Equal(nodes.Sum(n => n.GetProperty("shards").GetInt32()), regionStats.RootElement.GetProperty("nodes").EnumerateArray().Sum(n => n.GetProperty("shards").GetInt32()));
        var workerStats = await JsonAsync(Cmd("cluster", "sharding", "region-stats", "worker", "--json"));
        Assert.Equal(expected.RootElement.GetProperty("workers").EnumerateObject().Count(),
            workerStats.RootElement.GetProperty("totals").GetProperty("entities").GetInt32());

        var table = await Cmd("cluster", "sharding", "region-stats", "task");
        Assert.Equal(0, table.ExitCode);
        output.WriteLine(table.Stdout);
        Assert.Matches($@"(?m)^total\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+{taskCount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}$", table.Stdout); // counts grouped
        var regions = await Cmd("cluster", "sharding", "regions");
        Assert.Equal(0, regions.ExitCode);
        Assert.Matches(@"(?m)^task\s+2\s+[\d,]+\s+[\d,]+\s+0$", regions.Stdout);
        Assert.Matches(@"(?m)^worker\s+2\s+[\d,]+\s+[\d,]+\s+0$", regions.Stdout);

        // celery task: the task as Celery's State has it (a passivated one comes back from its row),
        // but for what depends on the order of events with two receivers (docs/architecture.md, "Several nodes").
        var some = expectedTasks.EnumerateObject().First(p => p.Value.GetProperty("retried").ValueKind == JsonValueKind.Null);
        var task = await Cmd("celery", "task", some.Name, "--json");
        Assert.Equal(0, task.ExitCode);
        using (var got = JsonDocument.Parse($"{{\"tasks\":{{\"{some.Name}\":{task.Stdout}}}}}"))
        using (var want = JsonDocument.Parse($"{{\"tasks\":{{\"{some.Name}\":{some.Value.GetRawText()}}}}}"))
            Assert.Empty(StateComparison.Differences(want.RootElement, got.RootElement, new HashSet<string> { "clock", "timestamp" }, ["tasks"]));
        var taskTable = await Cmd("celery", "task", some.Name);
        Assert.Matches($@"(?m)^uuid\s+{some.Name}$", taskTable.Stdout);
        Assert.Matches($@"(?m)^state\s+{some.Value.GetProperty("state").GetString()}$", taskTable.Stdout);

        // celery tasks: one page of the query API; SUCCESS as Celery has it, give or take the
        // retried tasks, whose last state follows the order of their events.
        var successes = expectedTasks.EnumerateObject().Count(p => p.Value.GetProperty("state").GetString() == "SUCCESS" && p.Value.GetProperty("retried").ValueKind == JsonValueKind.Null);
        var retried = expectedTasks.EnumerateObject().Count(p => p.Value.GetProperty("retried").ValueKind != JsonValueKind.Null);
        var page = await JsonAsync(Cmd("celery", "tasks", "--state", "SUCCESS", "--limit", "5", "--json"));
        var matching = page.RootElement.GetProperty("total").GetInt32();
        Assert.InRange(matching, successes, successes + retried);
        var listed = page.RootElement.GetProperty("tasks").EnumerateArray().ToList();
        Assert.Equal(5, listed.Count);
        Assert.All(listed, x => Assert.Equal("SUCCESS", x.GetProperty("state").GetString()));
        Assert.All(listed, x => Assert.Equal(expectedTasks.GetProperty(x.GetProperty("uuid").GetString()!).GetProperty("name").GetString(), x.GetProperty("name").GetString()));
        var received = listed.Select(x => x.GetProperty("received").GetDouble()).ToList();
        Assert.Equal(received.OrderDescending(), received); // newest first, the node's default
        var tasksTable = await Cmd("celery", "tasks", "--state", "SUCCESS", "--limit", "5");
        Assert.Equal(0, tasksTable.ExitCode);
        output.WriteLine(tasksTable.Stdout);
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(tasksTable.Stdout, @"(?m)^[0-9a-f-]{36}\s+\S+\s+SUCCESS\s").Count);
        Assert.Contains($"tasks 1-5 of {matching.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}", tasksTable.Stdout);

        // celery stats: the receiver's figures and the counts of the query API.
        var stats = await JsonAsync(Cmd("celery", "stats", "--json"));
        // A node's figures are its own receiver's: the two share the corpus's messages.
        Assert.Equal(total, stats.RootElement.GetProperty("stats").GetProperty("messages").GetInt64() + await second.MessagesAsync());
        var counts = stats.RootElement.GetProperty("counts");
        Assert.Equal(taskCount, counts.GetProperty("total").GetInt32());
        Assert.Equal(taskCount, counts.GetProperty("by_state").EnumerateObject().Sum(p => p.Value.GetInt32()));
        var statsTable = await Cmd("celery", "stats");
        Assert.Contains($"tasks: {taskCount.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}", statsTable.Stdout);
        Assert.Matches(@"(?m)^SUCCESS\s+[\d,]+$", statsTable.Stdout);

        // celery workers: every worker of the corpus.
        var workers = await Cmd("celery", "workers");
        Assert.Equal(0, workers.ExitCode);
        output.WriteLine(workers.Stdout);
        foreach (var w in expected.RootElement.GetProperty("workers").EnumerateObject())
            Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(w.Name)}\s", workers.Stdout);
        var worker = await Cmd("celery", "worker", expected.RootElement.GetProperty("workers").EnumerateObject().First().Name);
        Assert.Equal(0, worker.ExitCode);
        Assert.Matches(@"(?m)^processed\s+[\d,]+$", worker.Stdout);
        Assert.Equal(3, (await Cmd("celery", "worker", "celery@nowhere")).ExitCode);

        // actor hierarchy: this node's own actors and the sharding regions.
        var hierarchy = await Cmd("actor", "hierarchy");
        Assert.Equal(0, hierarchy.ExitCode);
        Assert.Contains("\n  /user/state-keeper\n", hierarchy.Stdout);
        Assert.Contains("\n  /user/event-receiver\n", hierarchy.Stdout);
        Assert.Contains("/system/sharding/task", hierarchy.Stdout);

        // cluster leave: the second node hands off, leaves, and its process ends by itself.
        var leave = await Cmd("cluster", "leave", addresses[1]);
        Assert.Equal(0, leave.ExitCode);
        Assert.Contains($"leave: {addresses[1]}", leave.Stdout);
        Assert.Equal(0, await second.Process.TerminateAfterExitAsync(TimeSpan.FromSeconds(90)));
        await first.WaitUntilAsync(async () => await UpMembersAsync(first.Url) == 1, TimeSpan.FromSeconds(60), "the second node to be gone");
        var alone = await JsonAsync(Cmd("cluster", "show", "--json"));
        Assert.Equal(addresses[0], Assert.Single(alone.RootElement.GetProperty("members").EnumerateArray()).GetProperty("address").GetString());
        // Nothing was lost with it: every task is still there, now all on the first node.
        await first.WaitUntilAsync(async () =>
        {
            using var after = await JsonAsync(Cmd("cluster", "sharding", "shard-stats", "task", "--json"));
            return after.RootElement.GetProperty("totals").GetProperty("stored").GetInt32() == taskCount;
        }, TimeSpan.FromSeconds(30), "every task row after the leave");
    }

    private static async Task<JsonDocument> JsonAsync(Task<Cli.Result> command)
    {
        var result = await command;
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        return JsonDocument.Parse(result.Stdout);
    }

    private static async Task<int> UpMembersAsync(string url)
    {
        var show = await Cli.RunAsync("cmd", "--url", url, "cluster", "show", "--json");
        if (show.ExitCode != 0) return -1;
        using var doc = JsonDocument.Parse(show.Stdout);
        var members = doc.RootElement.GetProperty("members").EnumerateArray().ToList();
        return members.All(m => m.GetProperty("status").GetString() == "Up" && m.GetProperty("reachable").GetBoolean()) ? members.Count : -1;
    }

    private static async Task<long> StateMessagesAsync(LiveNode node)
    {
        try
        {
            using var state = await node.StateAsync();
            return state.RootElement.GetProperty("messages").GetInt64();
        }
        catch (HttpRequestException)
        {
            return -1; // a checkpoint across the cluster failed: ask again
        }
    }
}
