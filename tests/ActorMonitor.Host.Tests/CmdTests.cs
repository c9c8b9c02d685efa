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
/// `cmd` tables for people (docs/operations.md, "Inspecting a running cluster"): a task's runtime in ms or s as
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
            // The pages read the last checkpoint: one taken now, so a periodic one cannot change the page between calls.
            await node.Queries.CheckpointAsync(TimeSpan.FromSeconds(60));
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
