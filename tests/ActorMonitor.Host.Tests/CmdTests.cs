using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>`actormonitor cmd` without a node: help on every palette, usage errors and an unreachable node are exit 2.</summary>
public sealed class CmdUsageTests
{
    [Theory]
    [InlineData(new[] { "cmd" }, new[] { "cluster", "actor", "celery" })]
    [InlineData(new[] { "cmd", "cluster" }, new[] { "show", "leave", "down", "sharding" })]
    [InlineData(new[] { "cmd", "cluster", "sharding" }, new[] { "regions", "region-stats", "shard-stats" })]
    [InlineData(new[] { "cmd", "actor" }, new[] { "hierarchy" })]
    [InlineData(new[] { "cmd", "celery" }, new[] { "workers", "worker", "task", "tasks", "stats" })]
    [InlineData(new[] { "cmd", "celery", "tasks" }, new[] { "--state", "--name", "--worker", "--since", "--until", "--search", "--sort", "--limit", "--offset", "--token", "--json" })]
    [InlineData(new[] { "cmd", "cluster", "leave" }, new[] { "ADDRESS", "--url" })]
    public async Task Every_palette_and_command_answers_help(string[] command, string[] listed)
    {
        var help = await Cli.RunAsync([.. command, "--help"]);
        Assert.Equal(0, help.ExitCode);
        var text = help.Stdout + help.Stderr;
        foreach (var word in listed) Assert.Contains(word, text);
    }

    [Theory]
    [InlineData("cmd", "frobnicate")]
    [InlineData("cmd", "cluster", "frobnicate")]
    [InlineData("cmd", "cluster", "sharding", "region-stats", "tasks")]
    [InlineData("cmd", "cluster")]
    [InlineData("cmd", "cluster", "leave")]
    public async Task An_unknown_palette_or_command_is_one_line_and_exit_2(params string[] args)
    {
        var result = await Cli.RunAsync(args);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("actormonitor: cmd", line);
        Assert.Contains("--help", line);
        if (args[^1] == "frobnicate") Assert.Contains("unknown command or argument 'frobnicate'", line);
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("cluster", "show")]
    [InlineData("celery", "stats")]
    [InlineData("actor", "hierarchy")]
    public async Task An_unreachable_node_is_one_line_and_exit_2(params string[] command)
    {
        var url = $"http://127.0.0.1:{Repo.FreePort()}";
        var result = await Cli.RunAsync(["cmd", "--url", url, .. command]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"cannot reach node at {url}", line);
    }
}

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
        // but for what depends on the order of events with two receivers (README, "Several nodes").
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

/// <summary>
/// `cmd` tables for people (README, "Inspecting a running cluster"): a task's runtime in ms or s as
/// the dashboard shows it, times in the local time zone with their offset, counts grouped; --json
/// keeps the node's numbers. An in-process node (memory journal, no broker) fed with a corpus, and
/// `cmd` run in a time zone of its own.
/// </summary>
public sealed class CmdFormatTests
{
    private const string Zone = "Asia/Kolkata";

    [Fact]
    public void Durations_counts_and_times_read_as_on_the_dashboard()
    {
        Assert.Equal("0.0 ms", Commands.Cmd.HumanFormat.Duration(4.46e-05));
        Assert.Equal("12.3 ms", Commands.Cmd.HumanFormat.Duration(0.01234));
        Assert.Equal("1.50 s", Commands.Cmd.HumanFormat.Duration(1.5));
        Assert.Equal("12,345", Commands.Cmd.HumanFormat.Count(12345));
        Assert.True(Commands.Cmd.HumanFormat.IsNumber("12,345") && Commands.Cmd.HumanFormat.IsNumber("0.0 ms") && Commands.Cmd.HumanFormat.IsNumber("1.50 s"));
        Assert.False(Commands.Cmd.HumanFormat.IsNumber("2026-12-06 21:04:05 +00:00"));
    }

    [Fact]
    public async Task Tasks_and_stats_show_runtime_local_times_and_grouped_counts()
    {
        var system = await Cluster.Hosting.MonitorSystem.StartAsync(Cluster.Hosting.MonitorConfig.With(
            "actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory\nakka.loglevel = WARNING"));
        try
        {
            var node = await Cluster.Hosting.MonitorNode.StartAsync(system);
            await using (var capture = File.OpenRead(Corpus.Capture("synth-2k")))
                await Cluster.Hosting.CaptureFeeder.FeedAsync(node, capture);
            await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            var port = Repo.FreePort();
            var app = await Http.HttpEndpoint.StartAsync(node, null, $"127.0.0.1:{port}", CancellationToken.None);
            try
            {
                var env = new Dictionary<string, string> { ["TZ"] = Zone };
                Task<Cli.Result> Cmd(params string[] args) => Cli.RunWithEnvAsync(env, ["cmd", "--url", $"http://127.0.0.1:{port}", .. args]);
                string[] page = ["celery", "tasks", "--state", "SUCCESS", "--limit", "1000"];

                var json = await Cmd([.. page, "--json"]);
                Assert.True(json.ExitCode == 0, json.Stderr);
                using var doc = JsonDocument.Parse(json.Stdout); // the node's numbers, untouched
                var tasks = doc.RootElement.GetProperty("tasks").EnumerateArray().ToList();
                var total = doc.RootElement.GetProperty("total").GetInt64();
                Assert.True(total >= 1000, "enough tasks for a grouped count");
                Assert.Equal(1000, tasks.Count);

                var table = await Cmd(page);
                Assert.Equal(0, table.ExitCode);
                var zone = TimeZoneInfo.FindSystemTimeZoneById(Zone);
                var rows = table.Stdout.Split('\n').Where(l => l.Length > 36).ToDictionary(l => l[..36]);
                foreach (var t in tasks)
                {
                    var runtime = t.GetProperty("runtime").GetDouble();
                    var expectedRuntime = runtime < 1
                        ? (runtime * 1000).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + " ms"
                        : runtime.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) + " s";
                    var received = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(t.GetProperty("received").GetDouble() * 1000)), zone);
                    Assert.Equal("+05:30", received.ToString("zzz"));
                    // The last two columns: RECEIVED, then RUNTIME right-aligned.
                    Assert.Matches($@"\s{System.Text.RegularExpressions.Regex.Escape(received.ToString("yyyy-MM-dd HH:mm:ss zzz"))}\s+{System.Text.RegularExpressions.Regex.Escape(expectedRuntime)}$",
                        rows[t.GetProperty("uuid").GetString()!]);
                }
                Assert.Matches(@"(?m)\s0\.0 ms$", table.Stdout); // the quickest tasks took microseconds
                var grouped = total.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
                Assert.Contains(",", grouped);
                Assert.Contains($"tasks 1-1,000 of {grouped}", table.Stdout);

                var stats = await Cmd("celery", "stats");
                Assert.Equal(0, stats.ExitCode);
                using (var statsJson = JsonDocument.Parse((await Cmd("celery", "stats", "--json")).Stdout))
                    Assert.Contains("tasks: " + statsJson.RootElement.GetProperty("counts").GetProperty("total").GetInt64().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + "\n", stats.Stdout);
                Assert.Matches(@"(?m)^SUCCESS\s+" + grouped + "$", stats.Stdout);
                Assert.Matches(@"(?m)^messages\s+2,509$", stats.Stdout);
            }
            finally
            {
                await app.DisposeAsync();
            }
        }
        finally
        {
            await system.Terminate();
        }
    }
}
