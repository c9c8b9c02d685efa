using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class EventReceiverTests : TestKit
{
    private readonly TestProbe _tasks;
    private readonly TestProbe _workers;
    private readonly TestProbe _index;
    private readonly TestProbe _keeper;
    private readonly IActorRef _receiver;

    public EventReceiverTests() : base(TestConfigs.InMemoryPersistence)
    {
        _tasks = CreateTestProbe();
        _workers = CreateTestProbe();
        _index = CreateTestProbe();
        _keeper = CreateTestProbe();
        _receiver = Sys.ActorOf(EventReceiverActor.Props(_tasks.Ref, _workers.Ref, _index.Ref, _keeper.Ref, () => 0, () => 5000,
            CheckpointSettings.Default with { Interval = TimeSpan.FromHours(1) }, ReceiverCheckpoint.Empty));
    }

    /// <summary>Checkpoints what was applied, this node's keeper committing: the deliveries made durable, as the receiver told them.</summary>
    private IReadOnlyList<long> CheckpointCommitted()
    {
        _receiver.Tell(CheckpointNow.Instance);
        _keeper.Reply(new CheckpointCommitted(_keeper.ExpectMsg<Checkpoint>().Id));
        var durable = ExpectMsg<MessagesDurable>().DeliveryIds;
        ExpectMsg<CheckpointDone>();
        return durable;
    }

    private ReceiverStats Stats()
    {
        _receiver.Tell(GetReceiverStats.Instance);
        return ExpectMsg<ReceiverStats>();
    }

    [Fact]
    public void Applies_receiver_rules_in_order_and_fans_out_to_entities_and_index()
    {
        var body = """
            [{"hostname": "gen1@h", "clock": 99, "uuid": "a", "name": "t.add", "timestamp": 10, "type": "task-sent"},
             {"hostname": "w1@h", "utcoffset": -1, "clock": 40, "uuid": "a", "timestamp": 11, "type": "task-started"},
             {"hostname": "w1@h", "timestamp": 12, "freq": 2.0, "type": "worker-heartbeat"}]
            """;
        _receiver.Tell(new IngestMessage(77, "task.multi", TestEvents.Message(body), LocalReceived: 2000));

        var sent = _tasks.ExpectMsg<ApplyTaskEvent>();
        Assert.Equal(("a", 0L, "gen1@h"), (sent.Uuid, sent.Event.Clock, sent.Event.Hostname)); // task-sent clock rewritten
        var started = _tasks.ExpectMsg<ApplyTaskEvent>();
        Assert.Equal((40L, 11 + 3600.0, 2000.0), (started.Event.Clock, started.Event.Timestamp, started.Event.LocalReceived));

        var toWorker = _workers.ExpectMsg<ApplyWorkerEvents>();
        Assert.Equal("w1@h", toWorker.Hostname);
        Assert.Equal([true, false], toWorker.Events.Select(e => e.IsTaskHeartbeat));
        Assert.Equal("42", toWorker.Events[1].Fields.Single(f => f.Key == "clock").Value); // forwarded: 41 + 1

        // Answered, and indexed, only when both entities acknowledged.
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _tasks.Reply(new EventsApplied(sent.DeliveryId));
        _tasks.Reply(new EventsApplied(started.DeliveryId));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _index.ExpectNoMsg(TimeSpan.FromMilliseconds(10));
        _workers.Reply(new EventsApplied(toWorker.DeliveryId));
        Assert.Equal(77, ExpectMsg<MessageApplied>().DeliveryId);
        var indexed = _index.ExpectMsg<IndexEvents>();
        Assert.Equal(["sent", "started", "heartbeat"], indexed.Entries.Select(e => e.Subject));
    }

    /// <summary>
    /// A receiver that fails is not restarted from the checkpoint it was created with (its next
    /// checkpoint would write older counters over newer ones): it acks nothing more and tells the
    /// node to leave.
    /// </summary>
    [Fact]
    public void A_receiver_that_fails_acks_nothing_more_and_tells_the_node_to_leave()
    {
        var calls = 0;
        double Now() => ++calls == 2 ? throw new InvalidOperationException("the clock broke") : 5000;
        var receiver = Sys.ActorOf(EventReceiverActor.Props(_tasks.Ref, _workers.Ref, _index.Ref, _keeper.Ref, () => 0, Now,
            CheckpointSettings.Default with { Interval = TimeSpan.FromHours(1) }, ReceiverCheckpoint.Empty));
        var failed = CreateTestProbe();
        Sys.EventStream.Subscribe(failed.Ref, typeof(NodeFailed));
        var body = """{"hostname": "w1@h", "timestamp": 12, "freq": 2.0, "type": "worker-heartbeat"}""";
        receiver.Tell(new IngestMessage(1, "worker.heartbeat", TestEvents.Message(body)));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        Assert.Equal(1, ExpectMsg<MessageApplied>().DeliveryId);

        receiver.Tell(new IngestMessage(2, "worker.heartbeat", TestEvents.Message(body.Replace("12", "13"))));
        Assert.Contains("the clock broke", failed.ExpectMsg<NodeFailed>().Reason);

        receiver.Tell(CheckpointNow.Instance);
        Assert.Contains("the event receiver failed", ExpectMsg<Status.Failure>().Cause.Message);
        _keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no checkpoint: the first message is never called durable
        receiver.Tell(GetReceiverStats.Instance);
        Assert.Equal(1, ExpectMsg<ReceiverStats>().Messages);
    }

    [Fact]
    public void A_delivery_unanswered_past_the_stuck_limit_is_sent_again_and_counted_once()
    {
        var receiver = Sys.ActorOf(EventReceiverActor.Props(_tasks.Ref, _workers.Ref, _index.Ref, _keeper.Ref, () => 0, () => 5000,
            CheckpointSettings.Default with { Interval = TimeSpan.FromMilliseconds(100), StuckAfter = TimeSpan.FromMilliseconds(500) }, ReceiverCheckpoint.Empty));
        var body = """{"hostname": "gen1@h", "uuid": "a", "name": "t.add", "timestamp": 10, "clock": 1, "type": "task-sent"}""";
        receiver.Tell(new IngestMessage(5, "task.sent", TestEvents.Message(body)));
        var lost = _tasks.ExpectMsg<ApplyTaskEvent>(); // never answered: lost on the way
        var again = _tasks.ExpectMsg<ApplyTaskEvent>(TimeSpan.FromSeconds(5));
        Assert.Equal(("a", lost.Event.Id), (again.Uuid, again.Event.Id));
        Assert.NotEqual(lost.DeliveryId, again.DeliveryId);
        _tasks.Reply(new EventsApplied(again.DeliveryId));
        Assert.Equal(5, ExpectMsg<MessageApplied>().DeliveryId);
        _tasks.Send(receiver, new EventsApplied(lost.DeliveryId)); // a late answer to the first send changes nothing
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        receiver.Tell(GetReceiverStats.Instance);
        var stats = FishForMessage<ReceiverStats>(_ => true);
        Assert.Equal((1L, 1L), (stats.AcceptedEvents, stats.Messages));
    }

    [Fact]
    public void Events_an_entity_already_applied_are_not_indexed_or_counted_again()
    {
        var body = """[{"hostname": "w1@h", "uuid": "a", "timestamp": 11, "clock": 3, "type": "task-started"}, {"hostname": "w1@h", "uuid": "b", "timestamp": 11, "clock": 4, "type": "task-started"}]""";
        _receiver.Tell(new IngestMessage(1, "task.multi", TestEvents.Message(body)));
        var a = _tasks.ExpectMsg<ApplyTaskEvent>();
        var b = _tasks.ExpectMsg<ApplyTaskEvent>();
        var w = _workers.ExpectMsg<ApplyWorkerEvents>();
        Assert.NotEqual(0UL, a.Event.Id);
        _tasks.Reply(new EventsApplied(a.DeliveryId, [a.Event.Id])); // "a" was applied before this delivery
        _tasks.Reply(new EventsApplied(b.DeliveryId));
        _workers.Reply(new EventsApplied(w.DeliveryId));
        ExpectMsg<MessageApplied>();
        Assert.Equal(["b"], _index.ExpectMsg<IndexEvents>().Entries.Select(e => e.Uuid));
        _receiver.Tell(GetReceiverStats.Instance);
        var stats = ExpectMsg<ReceiverStats>();
        Assert.Equal((1L, 1L, 1L), (stats.AcceptedEvents, stats.DuplicateEvents, stats.Messages));
    }

    [Fact]
    public void Messages_are_durable_only_after_the_keeper_commits_and_the_checkpoint_is_journaled()
    {
        _receiver.Tell(new IngestMessage(5, "task.multi", TestEvents.Message("[]")));
        ExpectMsg<MessageApplied>();
        _receiver.Tell(CheckpointNow.Instance);
        var checkpoint = _keeper.ExpectMsg<Checkpoint>();
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // nothing is durable before the rows are written
        _keeper.Reply(new CheckpointFailed(checkpoint.Id, "disk full"));
        ExpectMsg<Status.Failure>();
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        _receiver.Tell(CheckpointNow.Instance);
        checkpoint = _keeper.ExpectMsg<Checkpoint>();
        _keeper.Reply(new CheckpointCommitted(checkpoint.Id));
        Assert.Equal([5L], ExpectMsg<MessagesDurable>().DeliveryIds);
        ExpectMsg<CheckpointDone>();
    }

    [Fact]
    public void A_redelivery_of_a_counted_message_is_acked_with_the_next_checkpoint_and_not_counted()
    {
        const string body = """{"hostname": "w", "timestamp": 1, "type": "worker-heartbeat"}""";
        _receiver.Tell(new IngestMessage(1, "worker.heartbeat", TestEvents.Message(body)));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        ExpectMsg<MessageApplied>();
        _receiver.Tell(new IngestMessage(2, "worker.heartbeat", TestEvents.Message(body), Redelivered: true));
        ExpectMsg<MessageApplied>();
        _workers.ExpectNoMsg(TimeSpan.FromMilliseconds(50));

        Assert.Equal([1L, 2L], CheckpointCommitted());
        var stats = Stats();
        Assert.Equal((1L, 1L), (stats.Messages, stats.DuplicateMessages));
    }

    [Fact]
    public void A_redelivery_waits_while_what_other_nodes_counted_cannot_be_read_and_is_not_counted_if_they_did()
    {
        const string body = """{"hostname": "w", "timestamp": 1, "type": "worker-heartbeat"}""";
        var message = TestEvents.Message(body);
        var reads = 0;
        Task<IReadOnlyCollection<ulong>> OthersCounted() => ++reads == 1
            ? Task.FromException<IReadOnlyCollection<ulong>>(new TimeoutException("lock timeout"))
            : Task.FromResult<IReadOnlyCollection<ulong>>([message.BodyHash]);
        var receiver = Sys.ActorOf(EventReceiverActor.Props(_tasks.Ref, _workers.Ref, _index.Ref, _keeper.Ref, () => 0, () => 5000,
            CheckpointSettings.Default with { Interval = TimeSpan.FromHours(1) }, ReceiverCheckpoint.Empty, OthersCounted));

        receiver.Tell(new IngestMessage(1, "worker.heartbeat", message, Redelivered: true));
        ExpectMsg<MessageApplied>(TimeSpan.FromSeconds(5)); // after the second read, which found it
        _workers.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        Assert.Equal(2, reads);
        receiver.Tell(GetReceiverStats.Instance);
        var stats = ExpectMsg<ReceiverStats>();
        Assert.Equal((0L, 1L), (stats.Messages, stats.DuplicateMessages));
    }

    [Fact]
    public void A_node_downed_while_a_counted_redelivery_waits_for_its_checkpoint_resends_the_rest_and_acks_both()
    {
        const string body = """{"hostname": "w", "uuid": "t1", "name": "t.add", "clock": 1, "timestamp": 1, "type": "task-received"}""";
        _receiver.Tell(new IngestMessage(1, "task.received", TestEvents.Message(body)));
        _tasks.Reply(new EventsApplied(_tasks.ExpectMsg<ApplyTaskEvent>().DeliveryId));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        ExpectMsg<MessageApplied>();
        _receiver.Tell(new IngestMessage(2, "task.received", TestEvents.Message(body), Redelivered: true)); // counted already
        ExpectMsg<MessageApplied>();

        // Another monitor node is downed: what is not durable yet goes to the entities again, the
        // counted redelivery only waits for the checkpoint (it has nothing to send).
        _receiver.Tell(new Akka.Cluster.ClusterEvent.MemberRemoved(
            TestMembers.Removed("akka.tcp://actormonitor@10.0.0.9:4053", Client.MonitorClient.MonitorRole), Akka.Cluster.MemberStatus.Down));
        var again = _tasks.ExpectMsg<ApplyTaskEvent>();
        Assert.Equal("t1", again.Uuid);
        _tasks.Reply(new EventsApplied(again.DeliveryId));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        _tasks.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Assert.Equal([1L, 2L], CheckpointCommitted().Order());
        var stats = Stats();
        Assert.Equal((1L, 1L), (stats.Messages, stats.DuplicateMessages));
    }

    [Fact]
    public void A_node_downed_while_the_checkpoint_waits_for_its_keeper_sends_that_checkpoints_messages_again()
    {
        const string lost = "akka.tcp://actormonitor@10.0.0.9:4053";
        _receiver.Tell(new Akka.Cluster.ClusterEvent.MemberUp(TestMembers.WithStatus(lost, Akka.Cluster.MemberStatus.Up, Client.MonitorClient.MonitorRole)));
        _receiver.Tell(new IngestMessage(1, "task.started", TestEvents.Message("""{"hostname": "w", "uuid": "a", "clock": 1, "timestamp": 1, "type": "task-started"}""")));
        var first = _tasks.ExpectMsg<ApplyTaskEvent>();
        _tasks.Reply(new EventsApplied(first.DeliveryId));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        ExpectMsg<MessageApplied>();

        // The checkpoint covers message 1; the other node's keeper never answers, so this node's is
        // not asked to write the receiver's row.
        _receiver.Tell(CheckpointNow.Instance);
        _keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        ExpectNoMsg(TimeSpan.Zero);

        // That node is downed: its entities may have held message 1's events, so they are sent again.
        _receiver.Tell(new Akka.Cluster.ClusterEvent.MemberRemoved(TestMembers.Removed(lost, Client.MonitorClient.MonitorRole), Akka.Cluster.MemberStatus.Down));
        var again = _tasks.ExpectMsg<ApplyTaskEvent>();
        Assert.Equal("a", again.Uuid);
        Assert.NotEqual(first.DeliveryId, again.DeliveryId);
        _tasks.Reply(new EventsApplied(again.DeliveryId));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));

        // The next checkpoint, on this node alone now, covers it and answers both who asked.
        _receiver.Tell(CheckpointNow.Instance);
        _keeper.Reply(new CheckpointCommitted(_keeper.ExpectMsg<Checkpoint>().Id));
        Assert.Equal([1L], ExpectMsg<MessagesDurable>().DeliveryIds);
        ExpectMsg<CheckpointDone>();
        ExpectMsg<CheckpointDone>();
    }

    [Fact]
    public void A_node_downed_resends_a_message_applied_everywhere_but_still_queued_behind_an_unanswered_one()
    {
        // Message 1 waits for an entity that never answers (it lived on the lost node); message 2
        // is applied everywhere, but is released only after 1: on the lost node it is gone too.
        _receiver.Tell(new IngestMessage(1, "task.started", TestEvents.Message("""{"hostname": "w", "uuid": "a", "clock": 1, "timestamp": 1, "type": "task-started"}""")));
        var first = _tasks.ExpectMsg<ApplyTaskEvent>();
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        _receiver.Tell(new IngestMessage(2, "task.started", TestEvents.Message("""{"hostname": "w", "uuid": "b", "clock": 2, "timestamp": 2, "type": "task-started"}""")));
        var second = _tasks.ExpectMsg<ApplyTaskEvent>();
        _tasks.Reply(new EventsApplied(second.DeliveryId));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // in order: 2 waits for 1

        _receiver.Tell(new Akka.Cluster.ClusterEvent.MemberRemoved(
            TestMembers.Removed("akka.tcp://actormonitor@10.0.0.9:4053", Client.MonitorClient.MonitorRole), Akka.Cluster.MemberStatus.Down));
        var resent = new[] { _tasks.ExpectMsg<ApplyTaskEvent>(), _tasks.ExpectMsg<ApplyTaskEvent>() };
        Assert.Equal(["a", "b"], resent.Select(m => m.Uuid).Order());
        Assert.DoesNotContain(resent, m => m.DeliveryId == first.DeliveryId || m.DeliveryId == second.DeliveryId);
        foreach (var m in resent) _tasks.Reply(new EventsApplied(m.DeliveryId));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        _workers.Reply(new EventsApplied(_workers.ExpectMsg<ApplyWorkerEvents>().DeliveryId));
        Assert.Equal(1, ExpectMsg<MessageApplied>().DeliveryId);
        Assert.Equal(2, ExpectMsg<MessageApplied>().DeliveryId);
    }

    [Fact]
    public void Rejected_messages_are_counted_once_and_answered_at_once()
    {
        _receiver.Tell(new IngestMessage(1, "task.multi", TestEvents.Message("not json {")));
        Assert.Equal(1, ExpectMsg<MessageApplied>().DeliveryId);
        _receiver.Tell(new IngestMessage(2, "task.multi", TestEvents.Message("[1, 2]")));
        ExpectMsg<MessageApplied>();
        _receiver.Tell(new IngestMessage(3, "task.multi", TestEvents.Message("[]")));
        ExpectMsg<MessageApplied>();

        _receiver.Tell(GetReceiverStats.Instance);
        var stats = ExpectMsg<ReceiverStats>();
        Assert.Equal((3L, 2L, 3L), (stats.Messages, stats.RejectedMessages, stats.RejectedEvents));
        Assert.Equal(2, stats.RejectionsByCause[RejectionCause.NotAnEvent]);
        Assert.Equal(5000, stats.LastLocalReceived); // the injected clock
        _tasks.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void Drain_waits_for_acknowledgements_then_flushes_the_index()
    {
        _receiver.Tell(new IngestMessage(1, "task.started", TestEvents.Message("""{"hostname": "w", "uuid": "a", "timestamp": 1, "type": "task-started"}""")));
        var apply = _tasks.ExpectMsg<ApplyTaskEvent>();
        _workers.ExpectMsg<ApplyWorkerEvents>();

        _receiver.Tell(DrainReceiver.Instance);
        _index.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        _tasks.Reply(new EventsApplied(apply.DeliveryId));
        _workers.Reply(new EventsApplied(apply.DeliveryId));
        ExpectMsg<MessageApplied>();
        _index.ExpectMsg<IndexEvents>();
        var flush = _index.ExpectMsg<FlushIndex>();
        Assert.Equal(TestActor, flush.ReplyTo);
        Assert.IsType<ReceiverDrained>(flush.Reply);
    }
}
