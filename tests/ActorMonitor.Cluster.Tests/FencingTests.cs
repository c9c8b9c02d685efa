using Akka.Actor;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// A node the cluster downed is fenced in the store: its commits are refused from then on, and a
/// fence waits for a commit of that node still in progress, so none of its rows lands after it.
/// </summary>
public class FencingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-fence-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Stores => ["sqlite", "memory"];

    [Theory]
    [MemberData(nameof(Stores))]
    public void A_fenced_writer_commits_nothing_and_a_new_incarnation_of_the_same_node_does(string kind)
    {
        using var store = Open(kind);
        store.RegisterWriter("node-a#1", "node-a");
        store.Commit(Commit("node-a#1", "w1"));

        store.Fence("node-a#1", "node-a", "node-b#7");
        var refused = Assert.Throws<WriterFencedException>(() => store.Commit(Commit("node-a#1", "w2")));
        Assert.Contains("node-b#7", refused.Message);
        Assert.Equal(["w1"], store.LoadWorkers(["w1", "w2"]).Keys);

        store.RegisterWriter("node-a#2", "node-a"); // the same node restarted: a new incarnation
        store.Commit(Commit("node-a#2", "w2"));
        Assert.Equal(["w1", "w2"], store.LoadWorkers(["w1", "w2"]).Keys.Order());
        store.RegisterWriter("node-a#1", "node-a"); // registering again does not lift a fence
        Assert.Throws<WriterFencedException>(() => store.Commit(Commit("node-a#1", "w3")));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public void A_node_fenced_before_it_ever_registered_stays_fenced(string kind)
    {
        using var store = Open(kind);
        store.Fence("node-c#3", "node-c", "node-b#7");
        store.RegisterWriter("node-c#3", "node-c");
        Assert.Throws<WriterFencedException>(() => store.Commit(Commit("node-c#3", "w1")));
    }

    [Fact]
    public void Commits_without_a_writer_are_not_checked()
    {
        using var store = Open("sqlite");
        store.Commit(Commit(null, "w1"));
        Assert.Single(store.LoadWorkers(["w1"]));
    }

    private IStateStore Open(string kind)
    {
        if (kind == "memory") return new MemoryStateStore();
        var store = new SqlStateStore(StoreTarget.Parse("sqlite:" + Path.Combine(_dir, "state.db")));
        store.Initialize();
        return store;
    }

    internal static StoreCommit Commit(string? writer, string worker) =>
        new([], [new WorkerRow(worker, [1, 2, 3], 1)], []) { Writer = writer };
}

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
        Assert.Throws<WriterFencedException>(() => store.Commit(FencingTests.Commit(downed + "#1", "w1")));
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
        store.Commit(FencingTests.Commit(other + "#1", "w1")); // not fenced
    }
}
