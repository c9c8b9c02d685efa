using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Store;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class StateKeeperTests : TestKit
{
    /// <summary>
    /// A receiver's row says its messages are durable: a restart, or another node given their
    /// redelivery, skips them. Written by a cycle that collected its rows before the receiver
    /// asked, it would call durable an event some entity applied after it was collected, and
    /// that event would be lost with the node.
    /// </summary>
    [Fact]
    public void A_receiver_row_goes_with_the_next_cycle_to_start_never_with_the_one_running()
    {
        var store = new MemoryStateStore();
        var keeper = Sys.ActorOf(StateKeeper.Props(store, 100, 100, []));
        var entity = CreateTestProbe();
        var receiver = CreateTestProbe();
        keeper.Tell(new LoadEntity(EntityKind.Task, "t1"), entity.Ref);
        entity.ExpectMsg<RowLoaded>();

        var record = new TaskRecord("t1");
        record.Apply(TestEvents.Task("task-sent", "t1", 10) with { Id = 1 }, 1);
        keeper.Tell(new EntityApplied(EntityKind.Task, "t1", true), entity.Ref);
        keeper.Tell(new Checkpoint(1), receiver.Ref); // another receiver's checkpoint starts cycle 1
        var first = entity.ExpectMsg<CollectRow>();
        var collected = EntityRows.Task(record, first.CycleId);

        // Collected already, the entity applies one more event; its receiver counts that message and asks.
        record.Apply(TestEvents.Task("task-received", "t1", 11) with { Id = 2 }, 2);
        keeper.Tell(new EntityApplied(EntityKind.Task, "t1", true), entity.Ref);
        keeper.Tell(new Checkpoint(2, new ReceiverRow("node-1", 2, 0, 0, 1, [])), receiver.Ref);
        keeper.Tell(collected, entity.Ref);

        Assert.Equal(1, receiver.ExpectMsg<CheckpointCommitted>().Id);
        Assert.Empty(store.Receivers());
        Assert.Equal(1, TaskRecord.FromRow("t1", store.LoadTasks(["t1"])["t1"]).EventCount);

        var second = entity.ExpectMsg<CollectRow>();
        keeper.Tell(EntityRows.Task(record, second.CycleId), entity.Ref);
        Assert.Equal(2, receiver.ExpectMsg<CheckpointCommitted>().Id);
        Assert.Equal(2, Assert.Single(store.Receivers()).Messages);
        Assert.Equal(2, TaskRecord.FromRow("t1", store.LoadTasks(["t1"])["t1"]).EventCount);
    }

    /// <summary>
    /// A row goes to the keeper's thread while its entity goes on applying events: a task name
    /// the entity learns afterwards (a late task-sent) must not change the row, whose names the
    /// keeper reads while it commits (shared, that read failed and the keeper with it).
    /// </summary>
    [Fact]
    public void A_row_keeps_the_task_names_it_was_made_with()
    {
        var record = new TaskRecord("t1");
        record.Apply(TestEvents.Task("task-received", "t1", 10, "\"name\": \"a.first\"") with { Id = 1 }, 1);
        var row = EntityRows.Task(record, 1);
        record.Apply(TestEvents.Task("task-sent", "t1", 9, "\"name\": \"b.second\"") with { Id = 2 }, 2);

        Assert.Equal(["a.first"], row.TaskNames);
        Assert.Equal(["a.first", "b.second"], record.Names);
    }

    /// <summary>
    /// A keeper that failed is not restarted empty: a new one would not know which entities hold
    /// unsaved changes, and the next checkpoint would call their messages durable. It refuses
    /// every checkpoint and tells the node to leave.
    /// </summary>
    [Fact]
    public void A_keeper_that_fails_refuses_every_later_checkpoint_and_tells_the_node_to_leave()
    {
        var store = new MemoryStateStore();
        var keeper = Sys.ActorOf(StateKeeper.Props(store, 100, 100, []));
        var failed = CreateTestProbe();
        Sys.EventStream.Subscribe(failed.Ref, typeof(NodeFailed));
        var entity = CreateTestProbe();
        var receiver = CreateTestProbe();
        keeper.Tell(new LoadEntity(EntityKind.Task, "t1"), entity.Ref);
        entity.ExpectMsg<RowLoaded>();

        var row = EntityRows.Task(new TaskRecord("t1"), 0) with { TaskNames = new UnreadableNames() };
        keeper.Tell(new SaveAndStop(row), entity.Ref); // its commit reads the names and throws

        Assert.Contains("names cannot be read", failed.ExpectMsg<NodeFailed>().Reason);
        keeper.Tell(new Checkpoint(7, new ReceiverRow("node-1", 1, 0, 0, 1, [])), receiver.Ref);
        Assert.Equal(7, receiver.ExpectMsg<CheckpointFailed>().Id);
        Assert.Empty(store.Receivers());
        keeper.Tell(GetKeeperStats.Instance, receiver.Ref);
        Assert.True(receiver.ExpectMsg<KeeperStats>().StoreFailing);
    }

    /// <summary>
    /// Entities answer receivers through their keeper, one message per event with the news of a
    /// change: the keeper sends the answers on gathered per receiver, in the order they came, and
    /// only after it marked the change, so a checkpoint the answers let start collects the row.
    /// </summary>
    [Fact]
    public void Answers_go_on_to_each_receiver_in_batches_after_the_change_they_report()
    {
        var metrics = CreateTestProbe();
        var keeper = Sys.ActorOf(StateKeeper.Props(new MemoryStateStore(), 100, 100, [], metrics: metrics.Ref));
        var entity = CreateTestProbe();
        var receiverA = CreateTestProbe();
        var receiverB = CreateTestProbe();
        keeper.Tell(new LoadEntity(EntityKind.Task, "t1"), entity.Ref);
        entity.ExpectMsg<RowLoaded>();
        var observed = new TaskObserved("t1", "task-received", "w@h", "t.add", "celery", "RECEIVED", "w@h", null, null, null, false, null, null, 10, null);

        keeper.Tell(new EntityApplied(EntityKind.Task, "t1", true, receiverA.Ref, new EventsApplied(1), observed), entity.Ref);
        keeper.Tell(new EntityApplied(EntityKind.Task, "t1", false, receiverB.Ref, new EventsApplied(1, [9UL])), entity.Ref);
        keeper.Tell(new EntityApplied(EntityKind.Task, "t1", false, receiverA.Ref, new EventsApplied(2)), entity.Ref);

        Assert.Equal([1L, 2L], receiverA.ExpectMsg<AppliedBatch>().Answers.Select(a => a.DeliveryId));
        Assert.Equal([9UL], Assert.Single(receiverB.ExpectMsg<AppliedBatch>().Answers).Duplicates!);
        Assert.Equal([observed], metrics.ExpectMsg<TasksObserved>().Events);
        keeper.Tell(new Checkpoint(1), receiverA.Ref);
        entity.ExpectMsg<CollectRow>(); // the change was marked
        receiverA.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // nothing answered twice
    }

    private sealed class UnreadableNames : IReadOnlyCollection<string>
    {
        public int Count => 1;
        public IEnumerator<string> GetEnumerator() => throw new InvalidOperationException("names cannot be read");
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
