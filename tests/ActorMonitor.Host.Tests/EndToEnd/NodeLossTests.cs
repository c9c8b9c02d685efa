using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// A capture of ten workers heartbeating every 2 s (8,000 tasks), with Celery's own state for
/// it, made once for the class by our synthetic writer and Celery's State (tools/oracle).
/// </summary>
public sealed class HeartbeatCapture : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-heartbeats-").FullName;

    public string Capture => Path.Combine(_dir, "capture.jsonl");
    public string Expected => Path.Combine(_dir, "expected.json");
    public int Messages { get; private set; }

    public async Task InitializeAsync()
    {
        await using (var synth = ChildProcess.Start("synth", "/usr/bin/python3",
            [Repo.Path("tools", "oracle", "synth.py"), Capture, "--tasks", "8000", "--workers", "10", "--rate", "300", "--seed", "11"]))
            Assert.Equal(0, await synth.TerminateAfterExitAsync(TimeSpan.FromMinutes(2)));
        await using var reference = ChildProcess.Start("celery", "/usr/bin/python3", [Repo.Path("tools", "oracle", "celery_reference.py"), Capture]);
        Assert.Equal(0, await reference.TerminateAfterExitAsync(TimeSpan.FromMinutes(2)));
        await File.WriteAllTextAsync(Expected, reference.Stdout);
        Messages = File.ReadLines(Capture).Count(l => l.Trim().Length > 0);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Three nodes on PostgreSQL lose one in the middle of a published capture, three ways: killed
/// (-9), frozen (SIGSTOP for 25 s, as a VM stall or a long pause would), and cut off from the
/// other two for 30 s (its Akka traffic dropped both ways; RabbitMQ and PostgreSQL reachable).
/// Every event is applied exactly once, the workers' fields equal Celery's (a redelivered
/// heartbeat reaching a worker after newer ones changes nothing), and a downed node that comes
/// back stops consuming at once and leaves: its writes are fenced, its messages go to the others.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class NodeLossTests(RabbitBroker broker, PostgresServer postgres, HeartbeatCapture capture, ITestOutputHelper output)
    : IClassFixture<RabbitBroker>, IClassFixture<PostgresServer>, IClassFixture<HeartbeatCapture>
{
    private const int Rate = 1000; // messages/s: the capture takes about 11 s to publish

    [Fact]
    public async Task A_node_killed_mid_stream_leaves_every_worker_field_as_celery_has_it()
    {
        await using var cluster = await NodeCluster.StartAsync(broker, postgres, 3, output);
        await using var publish = Publish();
        await WaitForShareAsync(cluster, 0.3);
        await cluster[1].Process.KillAsync();
        cluster.Log("node-2 killed");
        Assert.Equal(0, await publish.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));

        await cluster.WaitUntilDurableAsync(cluster[0], capture.Messages, TimeSpan.FromSeconds(120));
        await cluster.LogCountersAsync();
        await cluster.CompareAsync(cluster[0], capture.Expected, capture.Messages);
        await cluster.CompareAsync(cluster[2], capture.Expected, capture.Messages);
    }

    /// <summary>
    /// The other node leaves mid-stream and the last one stands alone: its state still counts what
    /// the other made durable (found by the chaos run, where the cluster downed two nodes at once
    /// and the third, alone, answered its own index's counters: messages, event_count, task_count
    /// and the task heap short of the store's).
    /// </summary>
    [Fact]
    public async Task A_node_left_alone_counts_what_the_node_that_left_made_durable()
    {
        await using var cluster = await NodeCluster.StartAsync(broker, postgres, 2, output);
        await using var publish = Publish();
        await WaitForShareAsync(cluster, 0.3);
        var leaving = cluster.Detach(1);
        Assert.Equal(0, await leaving.Process.TerminateAsync(TimeSpan.FromSeconds(60)));
        cluster.Log("node-2 left");
        Assert.Equal(0, await publish.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));

        await cluster.WaitUntilDurableAsync(cluster[0], capture.Messages, TimeSpan.FromSeconds(120));
        await cluster.LogStoreAsync();
        await cluster.CompareAsync(cluster[0], capture.Expected, capture.Messages);
    }

    [Fact]
    public async Task A_node_frozen_for_25_s_loses_nothing_and_is_fenced_when_it_thaws()
    {
        await using var cluster = await NodeCluster.StartAsync(broker, postgres, 3, output);
        await using var publish = Publish();
        await WaitForShareAsync(cluster, 0.3);
        var frozen = cluster.Detach(1); // not asked anything while frozen
        frozen.Process.Signal(19); // SIGSTOP
        var stall = System.Diagnostics.Stopwatch.StartNew();
        cluster.Log("node-2 frozen");
        await cluster.WaitForMembersAsync(2, "node-2 to be downed and removed", 60);
        cluster.Log("node-2 removed by the others");
        Assert.Equal(0, await publish.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));
        await HoldAsync(stall, TimeSpan.FromSeconds(25)); // the fault's length, not a wait for an outcome
        frozen.Process.Signal(18); // SIGCONT
        cluster.Log("node-2 thawed");
        await AfterComebackAsync(cluster, frozen);
    }

    [Fact]
    public async Task A_node_cut_off_for_30_s_loses_nothing_and_is_fenced_when_the_partition_heals()
    {
        using var cut = new AkkaPartition();
        await using var cluster = await NodeCluster.StartAsync(broker, postgres, 3, output, i => i == 1 ? cut.Cgroup : null);
        await using var publish = Publish();
        await WaitForShareAsync(cluster, 0.3);
        var isolated = cluster.Detach(1);
        cut.Isolate(cluster.AkkaPort(1), [cluster.AkkaPort(0), cluster.AkkaPort(2)]);
        var partition = System.Diagnostics.Stopwatch.StartNew();
        cluster.Log("node-2 cut off");
        await cluster.WaitForMembersAsync(2, "node-2 to be downed and removed", 60);
        cluster.Log("node-2 removed by the others");
        Assert.Equal(0, await publish.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));
        await HoldAsync(partition, TimeSpan.FromSeconds(30));
        cut.Heal();
        cluster.Log("partition healed");
        await AfterComebackAsync(cluster, isolated);
    }

    /// <summary>Within 60 s of the thaw or heal: every message durable once, state as Celery's, the downed node gone by itself.</summary>
    private async Task AfterComebackAsync(NodeCluster cluster, LiveNode downed)
    {
        var since = System.Diagnostics.Stopwatch.StartNew();
        await cluster.WaitUntilDurableAsync(cluster[0], capture.Messages, TimeSpan.FromSeconds(60));
        cluster.Log($"every message durable {since.Elapsed.TotalSeconds:F1} s after the comeback");
        await cluster.LogCountersAsync();
        await cluster.LogStoreAsync();
        await cluster.CompareAsync(cluster[0], capture.Expected, capture.Messages);
        await cluster.CompareAsync(cluster[2], capture.Expected, capture.Messages);
        Assert.True(since.Elapsed < TimeSpan.FromSeconds(60), $"took {since.Elapsed} after the comeback");

        // The downed node learnt it, stopped consuming without acking and exited.
        await downed.Process.TerminateAfterExitAsync(TimeSpan.FromSeconds(Math.Max(5, 60 - since.Elapsed.TotalSeconds)));
        output.WriteLine(LiveNode.Tail(downed.Process.Stderr, 3000));
        Assert.Contains("stops consuming now", downed.Process.Stderr);
        // And nothing it wrote after that undid the survivors' state (compared once more, the rows re-read).
        await cluster.CompareAsync(cluster[0], capture.Expected, capture.Messages);
    }

    private static async Task HoldAsync(System.Diagnostics.Stopwatch since, TimeSpan length)
    {
        if (length > since.Elapsed) await Task.Delay(length - since.Elapsed);
    }

    private ChildProcess Publish() =>
        ChildProcess.Actormonitor("publish", "publish", capture.Capture, "--broker", broker.Url, "--rate", Rate.ToString());

    private Task WaitForShareAsync(NodeCluster cluster, double share) =>
        cluster[0].WaitUntilAsync(async () => await cluster.MessagesAsync() >= capture.Messages * share, TimeSpan.FromSeconds(60), $"{share:P0} of the capture");
}
