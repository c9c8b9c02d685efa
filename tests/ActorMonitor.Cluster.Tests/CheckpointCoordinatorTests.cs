using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Store;
using Akka.Actor;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class CheckpointCoordinatorTests() : TestKit(Remote.WithFallback(TestConfigs.InMemoryPersistence))
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
        var timedOut = ExpectMsg<CutFailed>(TimeSpan.FromSeconds(3));
        Assert.True(timedOut.Membership);
        Assert.Equal($"no answer within 0.3 s from the keeper on {Lost}", timedOut.Reason);
        keeper.ExpectNoMsg(TimeSpan.Zero); // this node's keeper was never asked: the receiver's row is not written

        coordinator.Tell(Cut(2, Lost));
        coordinator.Tell(new KeeperLeft(Lost));
        var left = ExpectMsg<CutFailed>();
        Assert.Equal((2L, true), (left.Id, left.Membership));
        coordinator.Tell(new CheckpointCommitted(2)); // too late: that cut is over
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        keeper.ExpectNoMsg(TimeSpan.Zero);
    }

    /// <summary>
    /// The receiver's row lists the messages it counted, and a node that gets one of them again
    /// after this node's loss skips it: so it is written only once the other nodes' keepers hold
    /// every event of those messages in rows.
    /// </summary>
    [Fact]
    public async Task This_nodes_keeper_writes_the_receivers_row_only_after_the_other_nodes_keepers_committed()
    {
        using var other = ActorSystem.Create("other", Remote.WithFallback(TestConfigs.InMemoryPersistence));
        try
        {
            var otherKeeper = CreateTestProbe(other);
            other.ActorOf(Props.Create(() => new Forwarder(otherKeeper.Ref)), CheckpointCoordinator.KeeperName);
            var otherAddress = ((ExtendedActorSystem)other).Provider.DefaultAddress;
            var keeper = CreateTestProbe();
            var coordinator = Coordinator(keeper.Ref);

            coordinator.Tell(Cut(1, otherAddress));
            Assert.Equal(new Checkpoint(1), otherKeeper.ExpectMsg<Checkpoint>(TimeSpan.FromSeconds(10)));
            keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
            otherKeeper.Reply(new CheckpointCommitted(1));
            otherKeeper.Reply(new CheckpointCommitted(1)); // heard twice: this node's keeper is still asked once
            var asked = keeper.ExpectMsg<Checkpoint>(TimeSpan.FromSeconds(10));
            Assert.Equal((1L, "node-1"), (asked.Id, asked.Receiver!.NodeName));
            keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
            ExpectNoMsg(TimeSpan.Zero);
            coordinator.Tell(new CheckpointCommitted(1), keeper.Ref);
            Assert.Equal(1, ExpectMsg<CutDurable>().Id);
        }
        finally
        {
            await other.Terminate();
        }
    }

    private static readonly Akka.Configuration.Config Remote = Akka.Configuration.ConfigurationFactory.ParseString("""
        akka.actor.provider = remote
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
        akka.actor.serializers.actormonitor-node = "ActorMonitor.Cluster.Serialization.MonitorSerializer, ActorMonitor.Cluster"
        akka.actor.serialization-bindings {
          "ActorMonitor.Cluster.Persistence.Checkpoint, ActorMonitor.Cluster" = actormonitor-node
          "ActorMonitor.Cluster.Persistence.CheckpointCommitted, ActorMonitor.Cluster" = actormonitor-node
        }
        """);

    private sealed class Forwarder(IActorRef to) : ReceiveActor
    {
        protected override void Unhandled(object message) => to.Forward(message);
    }
}
