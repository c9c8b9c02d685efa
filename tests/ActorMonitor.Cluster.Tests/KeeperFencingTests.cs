using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Store;
using Akka.Actor;

namespace ActorMonitor.Cluster.Tests;

/// <summary>The keeper fences a downed node before it loads any row again.</summary>
public class KeeperFencingTests() : Akka.TestKit.Xunit2.TestKit("akka.actor.provider = cluster\nakka.remote.dot-netty.tcp.port = 0")
{
    [Fact]
    public void Rows_wait_until_the_downed_node_is_fenced_and_its_commits_are_refused_after()
    {
        using var gate = new ManualResetEventSlim(false);
        var store = new MemoryStateStore { FenceGate = gate };
        var keeper = Sys.ActorOf(StateKeeper.Props(store, 100, 100, [], new WriterFencing(Akka.Cluster.Cluster.Get(Sys).SelfUniqueAddress, () => false)));
        const string downed = "akka.tcp://actormonitor@10.0.0.9:4053";
        store.RegisterWriter(downed + "#1", downed);
        keeper.Tell(new Akka.Cluster.ClusterEvent.MemberDowned(
            TestMembers.WithStatus(downed, Akka.Cluster.MemberStatus.Down, Client.MonitorClient.MonitorRole)));

        var entity = CreateTestProbe();
        entity.Send(keeper, new LoadEntity(EntityKind.Worker, "w1")); // a shard of the downed node, started here
        entity.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        gate.Set();
        Assert.Null(entity.ExpectMsg<RowLoaded>().Data);
        Assert.Throws<WriterFencedException>(() => store.Commit(FencedCommits.Commit(downed + "#1", "w1")));
    }
}

/// <summary>A node that was downed itself fences no one (its resolver's view after a stall is not the cluster's).</summary>
public class DownedKeeperFencingTests() : Akka.TestKit.Xunit2.TestKit("akka.actor.provider = cluster\nakka.remote.dot-netty.tcp.port = 0")
{
    [Fact]
    public void A_keeper_of_a_downed_node_neither_fences_the_others_nor_holds_its_rows()
    {
        using var gate = new ManualResetEventSlim(false); // a fence would wait for ever
        var store = new MemoryStateStore { FenceGate = gate };
        var keeper = Sys.ActorOf(StateKeeper.Props(store, 100, 100, [], new WriterFencing(Akka.Cluster.Cluster.Get(Sys).SelfUniqueAddress, () => true)));
        const string other = "akka.tcp://actormonitor@10.0.0.9:4053";
        store.RegisterWriter(other + "#1", other);
        keeper.Tell(new Akka.Cluster.ClusterEvent.MemberDowned(
            TestMembers.WithStatus(other, Akka.Cluster.MemberStatus.Down, Client.MonitorClient.MonitorRole)));

        var entity = CreateTestProbe();
        entity.Send(keeper, new LoadEntity(EntityKind.Worker, "w1"));
        entity.ExpectMsg<RowLoaded>();
        store.Commit(FencedCommits.Commit(other + "#1", "w1")); // not fenced
    }
}

internal static class FencedCommits
{
    /// <summary>A commit of one worker row by <paramref name="writer"/>.</summary>
    public static StoreCommit Commit(string writer, string worker) =>
        new([], [new WorkerRow(worker, [1, 2, 3], 1)], []) { Writer = writer };
}
