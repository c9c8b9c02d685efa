using ActorMonitor.Client;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Tasks;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class TaskEntityTests : TestKit
{
    private TestProbe? _keeper;

    /// <summary>The keeper of the entities a test made without naming one.</summary>
    private TestProbe Keeper => _keeper ??= CreateTestProbe();

    /// <summary>The entity's next answer to the test (the receiver), as its keeper gets it to batch on.</summary>
    private EventsApplied Answered(TestProbe? keeper = null)
    {
        var m = (keeper ?? Keeper).FishForMessage<EntityApplied>(m => m.Answer is not null);
        Assert.Equal(TestActor, m.ReplyTo);
        return m.Answer!;
    }

    private IActorRef Entity(string uuid, IActorRef region, TestProbe? keeper = null, byte[]? row = null)
    {
        keeper ??= Keeper;
        var entity = Sys.ActorOf(Props.Create(() => new TaskEntity(uuid, () => region, keeper.Ref)));
        Assert.Equal(uuid, keeper.ExpectMsg<LoadEntity>().Id);
        keeper.Reply(new RowLoaded(row));
        return entity;
    }

    [Fact]
    public void A_redelivered_event_is_recognised_and_changes_nothing()
    {
        var region = CreateTestProbe();
        var keeper = CreateTestProbe();
        var task = Entity("u1", region.Ref, keeper);
        var received = TestEvents.Task("task-received", "u1", 10, "\"name\": \"t.add\"") with { Id = 42 };
        task.Tell(new ApplyTaskEvent("u1", 1, received, Seq: 1));
        var first = keeper.ExpectMsg<EntityApplied>();
        Assert.True(first.Changed); // the change and the answer in one message
        Assert.Null(first.Answer!.Duplicates);
        task.Tell(new ApplyTaskEvent("u1", 2, TestEvents.Task("task-started", "u1", 11) with { Id = 43 }, Seq: 2));
        Assert.False(keeper.ExpectMsg<EntityApplied>().Changed); // still dirty: said once

        task.Tell(new ApplyTaskEvent("u1", 3, received, Seq: 3)); // the broker redelivers the first
        Assert.Equal([42UL], Answered(keeper).Duplicates);
        task.Tell(new GetTask("u1"));
        Assert.Equal("\"STARTED\"", ExpectMsg<TaskReply>().Task!.Field("state"));

        task.Tell(new CollectRow(7), keeper.Ref);
        var row = keeper.FishForMessage<EntityRow>(_ => true);
        Assert.Equal((7L, 2L, 1L, 2L), (row.CycleId, row.Task!.EventCount, row.Task.ReceivedCount, row.Task.LastSeq));
        Assert.Equal(["t.add"], row.TaskNames);
    }

    [Fact]
    public void Recovers_from_its_stored_row_and_still_recognises_what_it_applied()
    {
        var record = new TaskRecord("u2");
        record.Apply(TestEvents.Task("task-received", "u2", 10, "\"name\": \"t.mul\", \"args\": \"(2, 3)\"") with { Id = 7 }, 1);
        record.Apply(TestEvents.Task("task-succeeded", "u2", 12, "\"result\": \"6\"") with { Id = 8 }, 2);
        var task = Entity("u2", CreateTestProbe().Ref, row: record.ToRow());

        task.Tell(new GetTask("u2"));
        var restored = ExpectMsg<TaskReply>().Task!;
        Assert.Equal(record.State.ToSnapshot().Fields, restored.Fields);
        Assert.Equal("w1@h", restored.Worker);
        task.Tell(new ApplyTaskEvent("u2", 1, TestEvents.Task("task-succeeded", "u2", 12, "\"result\": \"6\"") with { Id = 8 }));
        Assert.Equal([8UL], Answered().Duplicates);
    }

    [Fact]
    public void Messages_sent_while_the_row_loads_wait_for_it()
    {
        var keeper = CreateTestProbe();
        var task = Sys.ActorOf(Props.Create(() => new TaskEntity("u3", () => ActorRefs.Nobody, keeper.Ref)));
        keeper.ExpectMsg<LoadEntity>();
        task.Tell(new GetTask("u3"));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        var record = new TaskRecord("u3");
        record.Apply(TestEvents.Task("task-received", "u3", 10), 1);
        keeper.Reply(new RowLoaded(record.ToRow()));
        Assert.Equal("\"RECEIVED\"", ExpectMsg<TaskReply>().Task!.Field("state"));
    }

    [Fact]
    public void Only_the_first_row_of_a_task_the_store_never_held_is_marked_new()
    {
        var keeper = CreateTestProbe();
        var task = Entity("u5", CreateTestProbe().Ref, keeper); // loaded as absent
        task.Tell(new ApplyTaskEvent("u5", 1, TestEvents.Task("task-received", "u5", 10)));
        Answered(keeper);
        task.Tell(new CollectRow(1), keeper.Ref);
        Assert.True(keeper.FishForMessage<EntityRow>(_ => true).Task!.New);
        task.Tell(new ApplyTaskEvent("u5", 2, TestEvents.Task("task-started", "u5", 11)));
        Answered(keeper);
        task.Tell(new CollectRow(2), keeper.Ref);
        Assert.False(keeper.FishForMessage<EntityRow>(_ => true).Task!.New); // the first may be stored now

        var record = new TaskRecord("u6");
        record.Apply(TestEvents.Task("task-received", "u6", 10), 1);
        var stored = Entity("u6", CreateTestProbe().Ref, keeper, record.ToRow());
        stored.Tell(new ApplyTaskEvent("u6", 3, TestEvents.Task("task-started", "u6", 11)));
        Answered(keeper);
        stored.Tell(new CollectRow(3), keeper.Ref);
        Assert.False(keeper.FishForMessage<EntityRow>(_ => true).Task!.New);
    }

    [Fact]
    public void A_dirty_entity_told_to_stop_saves_its_row_first()
    {
        var keeper = CreateTestProbe();
        var parent = CreateTestProbe();
        var task = parent.ChildActorOf(Props.Create(() => new TaskEntity("u4", () => ActorRefs.Nobody, keeper.Ref)));
        keeper.ExpectMsg<LoadEntity>();
        keeper.Reply(new RowLoaded(null));
        Watch(task);
        task.Tell(new ApplyTaskEvent("u4", 1, TestEvents.Task("task-received", "u4", 10)));
        Assert.True(keeper.ExpectMsg<EntityApplied>().Changed);

        task.Tell(PassivateEntity.Instance);
        Assert.IsType<StopEntity>(parent.ExpectMsg<Passivate>().StopMessage);
        task.Tell(StopEntity.Instance);
        var save = keeper.ExpectMsg<SaveAndStop>();
        Assert.Equal("u4", save.Row.Id);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // not stopped before the row is committed
        keeper.Reply(RowSaved.Instance);
        ExpectTerminated(task);
    }

    [Fact]
    public void Applies_events_acknowledges_and_answers_queries()
    {
        var region = CreateTestProbe();
        var task = Entity("u1", region.Ref);

        task.Tell(new GetTask("u1"));
        Assert.Null(ExpectMsg<TaskReply>().Task); // never seen: not a task yet

        task.Tell(new ApplyTaskEvent("u1", 7, TestEvents.Task("task-received", "u1", 10, "\"name\": \"t.add\"")));
        Assert.Equal(7, Answered().DeliveryId);
        task.Tell(new ApplyTaskEvent("u1", 8, TestEvents.Task("task-succeeded", "u1", 11, "\"result\": \"5\"")));
        Answered();

        task.Tell(new GetTask("u1"));
        var snapshot = ExpectMsg<TaskReply>().Task!;
        Assert.Equal(("\"SUCCESS\"", "\"t.add\"", "\"5\"", "w1@h"), (snapshot.Field("state"), snapshot.Field("name"), snapshot.Field("result"), snapshot.Worker));
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_child_asks_its_parent_to_adopt_it_once_and_the_parent_acknowledges_for_it()
    {
        var region = CreateTestProbe();
        var child = Entity("c1", region.Ref);

        child.Tell(new ApplyTaskEvent("c1", 1, TestEvents.Task("task-received", "c1", 10, "\"parent_id\": \"p1\"")));
        var adopt = region.ExpectMsg<AdoptChild>();
        Assert.Equal(("p1", "c1", 1L), (adopt.Uuid, adopt.ChildUuid, adopt.DeliveryId));
        Assert.Equal(TestActor, adopt.AckTo);
        // The change is said to the keeper before the parent is asked, with no answer: the parent acknowledges, not the child.
        var said = Keeper.ExpectMsg<EntityApplied>();
        Assert.Equal((true, null), (said.Changed, said.Answer));
        Keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        child.Tell(new ApplyTaskEvent("c1", 2, TestEvents.Task("task-started", "c1", 11)));
        Answered(); // parent already told: no second AdoptChild
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var parent = Entity("p1", region.Ref);
        parent.Tell(adopt);
        Assert.Equal(1, Answered().DeliveryId);
        parent.Tell(new GetTask("p1"));
        Assert.Null(ExpectMsg<TaskReply>().Task); // children alone do not make a task exist
        parent.Tell(new ApplyTaskEvent("p1", 3, TestEvents.Task("task-received", "p1", 9)));
        Answered();
        parent.Tell(new GetTask("p1"));
        Assert.Equal(["c1"], ExpectMsg<TaskReply>().Task!.Children);
    }

    [Fact]
    public void A_retried_task_whose_parent_is_itself_lists_itself_as_child()
    {
        var region = CreateTestProbe();
        var task = Entity("r1", region.Ref);
        task.Tell(new ApplyTaskEvent("r1", 1, TestEvents.Task("task-sent", "r1", 10, "\"parent_id\": \"r1\"")));
        Answered();
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        task.Tell(new GetTask("r1"));
        Assert.Equal(["r1"], ExpectMsg<TaskReply>().Task!.Children);
    }
}
