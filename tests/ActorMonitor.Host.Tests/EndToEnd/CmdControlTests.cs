using System.Diagnostics;
using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// `cmd celery`'s remote control against a real RabbitMQ, one real prefork Celery worker and a node
/// that serves control without credentials: inspect, pool-grow, add-consumer and send-task, a
/// refused destructive command, an unknown worker, and a shutdown the worker obeys.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class CmdControlTests(RabbitBroker broker, ITestOutputHelper output) : IClassFixture<RabbitBroker>
{
    private const string Python = "/usr/bin/python3";
    private const string WorkerName = "ctl@e2e";
    private static readonly string E2eDir = Repo.Path("tests", "e2e");
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task The_celery_palette_inspects_and_controls_a_real_worker()
    {
        await using var node = await LiveNode.StartAsync(broker.Url, "--allow-control-without-credentials");
        await using var worker = ChildProcess.Start(WorkerName, Python,
            ["-m", "celery", "-A", "e2e_tasks", "worker", "-E", "-n", WorkerName, "-P", "prefork", "-c", "2", "--without-mingle", "-l", "warning"],
            E2eDir, new Dictionary<string, string> { ["E2E_BROKER"] = broker.Url, ["PYTHONPATH"] = E2eDir });
        try
        {
            await ControlAsync(node, worker);
        }
        catch
        {
            foreach (var p in new[] { worker, node.Process })
                output.WriteLine($"--- {p.Name} (exited: {p.HasExited})\n{LiveNode.Tail(p.Stdout, 2000)}\n{LiveNode.Tail(p.Stderr)}");
            throw;
        }
    }

    private async Task ControlAsync(LiveNode node, ChildProcess worker)
    {
        string[] Cmd(params string[] args) => ["cmd", "--url", node.Url, "celery", .. args];

        // inspect: the worker's registered tasks and its queue, once it answers.
        Cli.Result inspect = null!;
        await Until(async () =>
        {
            if (worker.HasExited) throw new InvalidOperationException($"the worker exited ({worker.ExitCode})");
            inspect = await Cli.RunAsync(Cmd("inspect"));
            return inspect.ExitCode == 0 && inspect.Stdout.Contains(WorkerName) && inspect.Stdout.Contains("e2e_tasks.add");
        }, TimeSpan.FromSeconds(60), "the worker to answer an inspect");
        output.WriteLine(inspect.Stdout);
        var lines = inspect.Stdout.Split('\n');
        Assert.Contains(WorkerName, lines);
        var registered = Assert.Single(lines, l => l.TrimStart().StartsWith("registered", StringComparison.Ordinal));
        foreach (var task in new[] { "e2e_tasks.add", "e2e_tasks.fail", "e2e_tasks.slow" }) Assert.Contains(task, registered);
        Assert.Matches(@"^\s+queues\s+e2e\.tasks$", Assert.Single(lines, l => l.TrimStart().StartsWith("queues", StringComparison.Ordinal)));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+pool\s+.*2 process\(es\)"));

        // A destructive command without --yes, standard input not a terminal: refused, nothing sent.
        var refused = await RunWithoutTerminalAsync(Cmd("shutdown", WorkerName));
        Assert.Equal(2, refused.ExitCode);
        var refusal = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--yes", refusal);
        Assert.Equal("", refused.Stdout);
        Assert.Equal(2, (await RunWithoutTerminalAsync(Cmd("pool-shrink", WorkerName))).ExitCode);
        Assert.DoesNotContain("control:", node.Process.Stderr); // the node logs every action it was asked: none

        // An unknown worker: exit 3, the node's words on one line.
        var unknown = await Cli.RunAsync(Cmd("pool-grow", "nobody@nowhere"));
        Assert.Equal(3, unknown.ExitCode);
        Assert.Contains("Unknown worker 'nobody@nowhere'", Assert.Single(unknown.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(3, (await Cli.RunAsync(Cmd("inspect", "nobody@nowhere"))).ExitCode);

        // pool-grow: one more process in the worker's own stats.
        var before = await PoolProcessesAsync(Cmd);
        Assert.Equal(2, before);
        var grow = await Cli.RunAsync(Cmd("pool-grow", WorkerName));
        Assert.True(grow.ExitCode == 0, grow.Stderr);
        Assert.Equal($"Growing '{WorkerName}' worker's pool by 1", grow.Stdout.Trim());
        await Until(async () => await PoolProcessesAsync(Cmd) == before + 1, TimeSpan.FromSeconds(30), "the pool to have one more process");

        // add-consumer, then a task sent to that queue alone runs on the worker.
        var add = await Cli.RunAsync(Cmd("add-consumer", WorkerName, "extra"));
        Assert.True(add.ExitCode == 0, add.Stderr);
        Assert.Contains("extra", add.Stdout);
        var send = await Cli.RunAsync(Cmd("send-task", "e2e_tasks.add", "--args", "[2,3]", "--queue", "extra"));
        Assert.True(send.ExitCode == 0, send.Stderr);
        var id = send.Stdout.Trim();
        Assert.Matches("^[0-9a-f-]{36}$", id);
        JsonElement info = default;
        await Until(async () =>
        {
            using var r = await Http.GetAsync($"{node.Url}/api/task/info/{id}");
            if (!r.IsSuccessStatusCode) return false;
            info = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();
            return info.GetProperty("state").GetString() == "SUCCESS";
        }, TimeSpan.FromSeconds(30), $"task {id} to succeed");
        Assert.Equal("e2e_tasks.add", info.GetProperty("name").GetString());
        Assert.Equal("5", info.GetProperty("result").ToString());
        Assert.Equal(WorkerName, info.GetProperty("worker").GetString());

        // shutdown --yes: the node's message, and the worker process exits.
        var shutdown = await RunWithoutTerminalAsync(Cmd("shutdown", WorkerName, "--yes"));
        Assert.True(shutdown.ExitCode == 0, shutdown.Stderr);
        Assert.Equal("Shutting down!", shutdown.Stdout.Trim());
        await Until(() => Task.FromResult(worker.HasExited), TimeSpan.FromSeconds(30), "the worker to exit");
        Assert.Contains($"control: no credentials from 127.0.0.1: shutdown {WorkerName}: ok", node.Process.Stderr);
    }

    /// <summary>The number of pool processes the worker reports in its stats, by `inspect WORKER --json`.</summary>
    private static async Task<int> PoolProcessesAsync(Func<string[], string[]> cmd)
    {
        var result = await Cli.RunAsync(cmd(["inspect", WorkerName, "--json"]));
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var doc = JsonDocument.Parse(result.Stdout);
        return doc.RootElement.GetProperty(WorkerName).GetProperty("stats").GetProperty("pool").GetProperty("processes").GetArrayLength();
    }

    private static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(250);
        }
    }

    /// <summary>The CLI with its standard input a closed pipe rather than whatever the test runner has.</summary>
    internal static async Task<Cli.Result> RunWithoutTerminalAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "actormonitor.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await p.WaitForExitAsync(cts.Token);
        return new Cli.Result(p.ExitCode, await stdout, await stderr);
    }
}
