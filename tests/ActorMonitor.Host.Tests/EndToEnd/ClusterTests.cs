using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// Three node processes on loopback share one queue and one PostgreSQL journal. One is killed (-9)
/// in the middle of a published capture: its unacked messages go to the others, its shards move,
/// its entities come back from their rows. It then rejoins, and another one leaves gracefully.
/// The final state equals Celery's, except what several receivers cannot reproduce (docs/architecture.md,
/// "Several nodes").
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ClusterTests(RabbitBroker broker, PostgresServer postgres, ITestOutputHelper output)
    : IClassFixture<RabbitBroker>, IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_node_killed_mid_stream_loses_nothing_and_rejoins_and_a_graceful_leave_hands_off()
    {
        const string corpus = "synth-2k-shuffled";
        var total = File.ReadLines(Corpus.Capture(corpus)).Count(l => l.Trim().Length > 0);
        await using var cluster = await NodeCluster.StartAsync(broker, postgres, 3, output);
        cluster.Log("three nodes up");

        await using var publish = ChildProcess.Actormonitor("publish", "publish", Corpus.Capture(corpus), "--broker", broker.Url, "--rate", "400");
        await cluster[0].WaitUntilAsync(async () => await cluster.MessagesAsync() >= total / 3, TimeSpan.FromSeconds(60), "a third of the capture");
        var perNodeBeforeKill = await Task.WhenAll(cluster.Running.Select(n => n.MessagesAsync()));
        cluster.Log($"messages per node before the kill: {string.Join(", ", perNodeBeforeKill)}");
        await cluster[1].Process.KillAsync();
        await cluster[1].DisposeAsync();
        cluster.Nodes[1] = null;
        cluster.Log("node-2 killed");

        Assert.Equal(0, await publish.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));
        cluster.Log("capture published");
        await cluster.WaitForMembersAsync(2, "node-2 to be downed and removed");
        cluster.Log("node-2 removed by the survivors");

        await cluster.WaitUntilDurableAsync(cluster[0], total, TimeSpan.FromSeconds(120));
        cluster.Log("every message durable on the two survivors");
        await cluster.LogCountersAsync();
        // The survivors re-applied what the lost node's entities may have held.
        Assert.Contains(new[] { cluster[0], cluster[2] }, n => n.Process.Stderr.Contains("was downed: sending"));
        await cluster.CompareAsync(cluster[0], Corpus.Expected(corpus), total);

        // The killed node comes back under its name and port, and rejoins.
        await cluster.StartAsync(1);
        await cluster.WaitForMembersAsync(3, "node-2 to rejoin");
        cluster.Log("node-2 rejoined");
        await cluster.CompareAsync(cluster[1], Corpus.Expected(corpus), total);

        // A graceful leave hands node-3's shards off: nothing fails, nothing is lost.
        var logBefore = cluster[2].Process.Stderr.Length;
        Assert.Equal(0, await cluster[2].Process.TerminateAsync(TimeSpan.FromSeconds(60)));
        var errors = cluster[2].Process.Stderr[logBefore..].Split('\n').Where(l => l.Contains("[ERROR]")).ToList();
        foreach (var e in errors) output.WriteLine(e);
        Assert.Empty(errors);
        await cluster[2].DisposeAsync();
        cluster.Nodes[2] = null;
        await cluster.WaitForMembersAsync(2, "node-3 to leave");
        cluster.Log("node-3 left gracefully");
        await cluster.CompareAsync(cluster[0], Corpus.Expected(corpus), total);

        // Round-robin: every node applied a share of the messages before the kill.
        Assert.All(perNodeBeforeKill, n => Assert.True(n > 0, "each node consumed a share of the shared queue"));
    }
}
