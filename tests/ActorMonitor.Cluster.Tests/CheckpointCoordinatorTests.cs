using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Store;
using Akka.Actor;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class CheckpointCoordinatorTests() : TestKit(TestConfigs.InMemoryPersistence)
{
    private static readonly Address Self = new("akka", "test");
    private static readonly Address Lost = new("akka.tcp", "actormonitor", "127.0.0.1", 1); // nothing listens there

    private IActorRef Coordinator(IActorRef keeper, TimeSpan? timeout = null) =>
        ChildActorOf(CheckpointCoordinator.Props(keeper, CheckpointSettings.Default with { Timeout = timeout ?? TimeSpan.FromSeconds(10) }, Self));

    private static CoverCut Cut(long id, params Address[] keepers) =>
        new(id, ReceiverCheckpoint.Empty with { Messages = id }, new ReceiverRow("node-1", id, 0, 0, id, []), [Self, .. keepers]);

    [Fact]
    public void A_cut_is_durable_once_the_keeper_committed_and_the_journal_holds_it()
    {
        var keeper = CreateTestProbe();
        var coordinator = Coordinator(keeper.Ref);
        coordinator.Tell(Cut(1));
        var asked = keeper.ExpectMsg<Checkpoint>();
        Assert.Equal((1L, "node-1"), (asked.Id, asked.Receiver!.NodeName)); // this node's keeper writes the receiver's row
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        keeper.Reply(new CheckpointCommitted(1));
        Assert.Equal(1, ExpectMsg<CutDurable>().Id);
    }

    [Fact]
    public void A_keeper_that_fails_fails_the_cut_as_a_store_fault()
    {
        var keeper = CreateTestProbe();
        var coordinator = Coordinator(keeper.Ref);
        coordinator.Tell(Cut(1));
        keeper.ExpectMsg<Checkpoint>();
        keeper.Reply(new CheckpointFailed(1, "disk full"));
        Assert.Equal(new CutFailed(1, "disk full", Membership: false), ExpectMsg<CutFailed>());
    }

    [Fact]
    public void A_keeper_that_does_not_answer_or_whose_node_leaves_fails_the_cut_as_membership()
    {
        var keeper = CreateTestProbe();
        var coordinator = Coordinator(keeper.Ref, TimeSpan.FromMilliseconds(300));
        coordinator.Tell(Cut(1, Lost));
        keeper.ExpectMsg<Checkpoint>();
        keeper.Reply(new CheckpointCommitted(1));
        var timedOut = ExpectMsg<CutFailed>(TimeSpan.FromSeconds(3));
        Assert.True(timedOut.Membership);
        Assert.Contains(Lost.ToString(), timedOut.Reason);

        coordinator.Tell(Cut(2, Lost));
        keeper.ExpectMsg<Checkpoint>();
        coordinator.Tell(new KeeperLeft(Lost));
        var left = ExpectMsg<CutFailed>();
        Assert.Equal((2L, true), (left.Id, left.Membership));
        keeper.Reply(new CheckpointCommitted(2)); // too late: that cut is over
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }
}
