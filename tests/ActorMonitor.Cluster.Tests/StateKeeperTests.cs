using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
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
        keeper.Tell(new EntityDirty(EntityKind.Task, "t1"), entity.Ref);
        keeper.Tell(new Checkpoint(1), receiver.Ref); // another receiver's checkpoint starts cycle 1
        var first = entity.ExpectMsg<CollectRow>();
        var collected = EntityRows.Task(record, first.CycleId);

        // Collected already, the entity applies one more event; its receiver counts that message and asks.
        record.Apply(TestEvents.Task("task-received", "t1", 11) with { Id = 2 }, 2);
        keeper.Tell(new EntityDirty(EntityKind.Task, "t1"), entity.Ref);
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
}
