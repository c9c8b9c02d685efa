using ActorMonitor.Client;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Tasks;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class TaskBucketTests : TestKit
{
    private TestProbe? _keeper;

    /// <summary>The keeper of the buckets a test made without naming one.</summary>
    private TestProbe Keeper => _keeper ??= CreateTestProbe();

    /// <summary>The bucket's next answer to the test (the receiver), as its keeper gets it to batch on.</summary>
    private EventsApplied Answered(TestProbe? keeper = null)
    {
        var m = (keeper ?? Keeper).FishForMessage<EntityApplied>(m => m.Answer is not null);
        Assert.Equal(TestActor, m.ReplyTo);
        return m.Answer!;
    }

    private IActorRef Bucket(IActorRef region, TestProbe? keeper = null)
    {
        keeper ??= Keeper;
        return Sys.ActorOf(Props.Create(() => new TaskBucket(() => region, keeper.Ref, false)));
    }

    /// <summary>The bucket asks for the task's row as its first message for it arrives: the keeper gives <paramref name="row"/>.</summary>
    private static void Load(TestProbe keeper, string uuid, byte[]? row = null)
    {
        Assert.Equal(uuid, keeper.ExpectMsg<LoadEntity>().Id);
        keeper.Reply(new RowLoaded(uuid, row));
    }

    [Fact]
    public void A_redelivered_event_is_recognised_and_changes_nothing()
    {
        var keeper = CreateTestProbe();
        var bucket = Bucket(CreateTestProbe().Ref, keeper);
        var received = TestEvents.Task("task-received", "u1", 10, "\"name\": \"t.add\"") with { Id = 42 };
        bucket.Tell(new ApplyTaskEvent("u1", 1, received, Seq: 1));
        Load(keeper, "u1");
        var first = keeper.ExpectMsg<EntityApplied>();
        Assert.True(first.Changed); // the change and the answer in one message
        Assert.Null(first.Answer!.Duplicates);
        bucket.Tell(new ApplyTaskEvent("u1", 2, TestEvents.Task("task-started", "u1", 11) with { Id = 43 }, Seq: 2));
        Assert.False(keeper.ExpectMsg<EntityApplied>().Changed); // still dirty: said once

        bucket.Tell(new ApplyTaskEvent("u1", 3, received, Seq: 3)); // the broker redelivers the first
        Assert.Equal([42UL], Answered(keeper).Duplicates);
        bucket.Tell(new GetTask("u1"));
        Assert.Equal("\"STARTED\"", ExpectMsg<TaskReply>().Task!.Field("state"));

        bucket.Tell(new CollectRow("u1", 7), keeper.Ref);
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
        var bucket = Bucket(CreateTestProbe().Ref);

        bucket.Tell(new GetTask("u2"));
        Load(Keeper, "u2", record.ToRow());
        var restored = ExpectMsg<TaskReply>().Task!;
        Assert.Equal(record.State.ToSnapshot().Fields, restored.Fields);
        Assert.Equal("w1@h", restored.Worker);
        bucket.Tell(new ApplyTaskEvent("u2", 1, TestEvents.Task("task-succeeded", "u2", 12, "\"result\": \"6\"") with { Id = 8 }));
        Assert.Equal([8UL], Answered().Duplicates);
    }

    [Fact]
    public void Messages_for_a_task_wait_for_its_row_and_other_tasks_do_not()
    {
        var keeper = CreateTestProbe();
        var bucket = Bucket(ActorRefs.Nobody, keeper);
        bucket.Tell(new GetTask("u3"));
        Assert.Equal("u3", keeper.ExpectMsg<LoadEntity>().Id);
        var slow = keeper.LastSender;
        bucket.Tell(new GetTask("u7"));
        var other = new TaskRecord("u7");
        other.Apply(TestEvents.Task("task-started", "u7", 10), 1);
        Load(keeper, "u7", other.ToRow());
        Assert.Equal("u7", ExpectMsg<TaskReply>().Uuid); // not held up by u3's row

        var record = new TaskRecord("u3");
        record.Apply(TestEvents.Task("task-received", "u3", 10), 1);
        slow.Tell(new RowLoaded("u3", record.ToRow()), keeper.Ref);
        Assert.Equal("\"RECEIVED\"", ExpectMsg<TaskReply>().Task!.Field("state"));
    }

    [Fact]
    public void Only_the_first_row_of_a_task_the_store_never_held_is_marked_new()
    {
        var keeper = CreateTestProbe();
        var bucket = Bucket(CreateTestProbe().Ref, keeper);
        bucket.Tell(new ApplyTaskEvent("u5", 1, TestEvents.Task("task-received", "u5", 10)));
        Load(keeper, "u5"); // absent
        Answered(keeper);
        bucket.Tell(new CollectRow("u5", 1), keeper.Ref);
        Assert.True(keeper.FishForMessage<EntityRow>(_ => true).Task!.New);
        bucket.Tell(new ApplyTaskEvent("u5", 2, TestEvents.Task("task-started", "u5", 11)));
        Answered(keeper);
        bucket.Tell(new CollectRow("u5", 2), keeper.Ref);
        Assert.False(keeper.FishForMessage<EntityRow>(_ => true).Task!.New); // the first may be stored now

        var record = new TaskRecord("u6");
        record.Apply(TestEvents.Task("task-received", "u6", 10), 1);
        bucket.Tell(new ApplyTaskEvent("u6", 3, TestEvents.Task("task-started", "u6", 11)));
        Load(keeper, "u6", record.ToRow());
        Answered(keeper);
        bucket.Tell(new CollectRow("u6", 3), keeper.Ref);
        Assert.False(keeper.FishForMessage<EntityRow>(_ => true).Task!.New);
    }

    [Fact]
    public void A_bucket_told_to_stop_saves_the_rows_of_its_changed_tasks_first()
    {
        var keeper = CreateTestProbe();
        var bucket = Bucket(ActorRefs.Nobody, keeper);
        Watch(bucket);
        bucket.Tell(new ApplyTaskEvent("u4", 1, TestEvents.Task("task-received", "u4", 10)));
        Load(keeper, "u4");
        Assert.True(keeper.ExpectMsg<EntityApplied>().Changed);
        bucket.Tell(new ApplyTaskEvent("u8", 2, TestEvents.Task("task-received", "u8", 10)));
        Load(keeper, "u8");
        Answered(keeper);
        bucket.Tell(new CollectRow("u8", 1), keeper.Ref); // u8's row went with a checkpoint: clean again
        keeper.FishForMessage<EntityRow>(_ => true);

        bucket.Tell(StopEntity.Instance);
        var save = keeper.ExpectMsg<SaveAndStop>();
        Assert.Equal("u4", save.Row.Id); // the changed one only
        keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // not stopped before the row is committed
        bucket.Tell(new RowSaved("u4"));
        ExpectTerminated(bucket);
    }

    [Fact]
    public void A_bucket_told_to_stop_while_a_row_loads_applies_what_waited_for_it_and_saves_it()
    {
        var keeper = CreateTestProbe();
        var bucket = Bucket(ActorRefs.Nobody, keeper);
        Watch(bucket);
        bucket.Tell(new ApplyTaskEvent("u9", 1, TestEvents.Task("task-received", "u9", 10)));
        Assert.Equal("u9", keeper.ExpectMsg<LoadEntity>().Id);
        bucket.Tell(StopEntity.Instance);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        bucket.Tell(new RowLoaded("u9", null), keeper.Ref);
        Answered(keeper);
        Assert.Equal("u9", keeper.ExpectMsg<SaveAndStop>().Row.Id);
        bucket.Tell(new RowSaved("u9"));
        ExpectTerminated(bucket);
    }

    [Fact]
    public void A_clean_task_leaves_memory_when_the_keeper_asks_and_a_changed_one_declines()
    {
        var keeper = CreateTestProbe();
        var bucket = Bucket(ActorRefs.Nobody, keeper);
        bucket.Tell(new ApplyTaskEvent("a", 1, TestEvents.Task("task-received", "a", 10)));
        Load(keeper, "a");
        Answered(keeper);

        bucket.Tell(new PassivateEntity("a"), keeper.Ref); // changed since its last row
        Assert.Equal("a", keeper.ExpectMsg<PassivationDeclined>().Id);
        bucket.Tell(new CollectRow("a", 1), keeper.Ref);
        keeper.ExpectMsg<EntityRow>();
        bucket.Tell(new PassivateEntity("a"), keeper.Ref);
        Assert.Equal("a", keeper.ExpectMsg<EntityGone>().Id);

        // Its next message loads the row again.
        var row = new TaskRecord("a");
        row.Apply(TestEvents.Task("task-received", "a", 10), 1);
        bucket.Tell(new GetTask("a"));
        Load(keeper, "a", row.ToRow());
        Assert.Equal("\"RECEIVED\"", ExpectMsg<TaskReply>().Task!.Field("state"));
    }

    [Fact]
    public void A_task_asked_for_while_its_first_event_waits_for_the_row_is_kept()
    {
        var keeper = CreateTestProbe();
        var bucket = Bucket(ActorRefs.Nobody, keeper);
        bucket.Tell(new GetTask("q1")); // a poll for a task whose events are on their way
        Assert.Equal("q1", keeper.ExpectMsg<LoadEntity>().Id);
        bucket.Tell(new ApplyTaskEvent("q1", 1, TestEvents.Task("task-received", "q1", 10, "\"eta\": \"2026-12-07T12:00:00\"")));
        keeper.Reply(new RowLoaded("q1", null));
        Assert.Null(ExpectMsg<TaskReply>().Task); // the query came first
        Assert.Equal(1, Answered(keeper).DeliveryId);
        keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // not let go: the event made it a task

        bucket.Tell(new GetTask("q1"));
        Assert.Equal("\"2026-12-07T12:00:00\"", ExpectMsg<TaskReply>().Task!.Field("eta"));
    }

    [Fact]
    public void Applies_events_acknowledges_and_answers_queries()
    {
        var region = CreateTestProbe();
        var bucket = Bucket(region.Ref);

        bucket.Tell(new GetTask("u1"));
        Load(Keeper, "u1");
        Assert.Null(ExpectMsg<TaskReply>().Task); // never seen: not a task yet
        Assert.Equal("u1", Keeper.ExpectMsg<EntityGone>().Id); // nor kept in memory

        bucket.Tell(new ApplyTaskEvent("u1", 7, TestEvents.Task("task-received", "u1", 10, "\"name\": \"t.add\"")));
        Load(Keeper, "u1");
        Assert.Equal(7, Answered().DeliveryId);
        bucket.Tell(new ApplyTaskEvent("u1", 8, TestEvents.Task("task-succeeded", "u1", 11, "\"result\": \"5\"")));
        Answered();

        bucket.Tell(new GetTask("u1"));
        var snapshot = ExpectMsg<TaskReply>().Task!;
        Assert.Equal(("\"SUCCESS\"", "\"t.add\"", "\"5\"", "w1@h"), (snapshot.Field("state"), snapshot.Field("name"), snapshot.Field("result"), snapshot.Worker));
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_child_asks_its_parent_to_adopt_it_once_and_the_parent_acknowledges_for_it()
    {
        var region = CreateTestProbe();
        var children = Bucket(region.Ref);

        children.Tell(new ApplyTaskEvent("c1", 1, TestEvents.Task("task-received", "c1", 10, "\"parent_id\": \"p1\"")));
        Load(Keeper, "c1");
        var adopt = region.ExpectMsg<AdoptChild>();
        Assert.Equal(("p1", "c1", 1L), (adopt.Uuid, adopt.ChildUuid, adopt.DeliveryId));
        Assert.Equal(TestActor, adopt.AckTo);
        // The change is said to the keeper before the parent is asked, with no answer: the parent acknowledges, not the child.
        var said = Keeper.ExpectMsg<EntityApplied>();
        Assert.Equal((true, null), (said.Changed, said.Answer));
        Keeper.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        children.Tell(new ApplyTaskEvent("c1", 2, TestEvents.Task("task-started", "c1", 11)));
        Answered(); // parent already told: no second AdoptChild
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var parents = Bucket(region.Ref);
        parents.Tell(adopt);
        Load(Keeper, "p1");
        Assert.Equal(1, Answered().DeliveryId);
        parents.Tell(new GetTask("p1"));
        Assert.Null(ExpectMsg<TaskReply>().Task); // children alone do not make a task exist
        parents.Tell(new ApplyTaskEvent("p1", 3, TestEvents.Task("task-received", "p1", 9)));
        Answered();
        parents.Tell(new GetTask("p1"));
        Assert.Equal(["c1"], ExpectMsg<TaskReply>().Task!.Children);
    }

    [Fact]
    public void A_retried_task_whose_parent_is_itself_lists_itself_as_child()
    {
        var region = CreateTestProbe();
        var bucket = Bucket(region.Ref);
        bucket.Tell(new ApplyTaskEvent("r1", 1, TestEvents.Task("task-sent", "r1", 10, "\"parent_id\": \"r1\"")));
        Load(Keeper, "r1");
        Answered();
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        bucket.Tell(new GetTask("r1"));
        Assert.Equal(["r1"], ExpectMsg<TaskReply>().Task!.Children);
    }

    [Fact]
    public void Every_task_message_goes_to_the_bucket_of_the_task_shard()
    {
        var extractor = new TaskMessageExtractor(100);
        var uuids = Enumerable.Range(0, 500).Select(i => $"task-{i}").ToList();
        foreach (var uuid in uuids)
        {
            var bucket = extractor.EntityId(new GetTask(uuid))!;
            Assert.Equal(bucket, extractor.ShardId(bucket, new GetTask(uuid)));
            Assert.Equal(bucket, extractor.ShardOf(uuid));
            Assert.Equal(bucket, extractor.EntityId(new ApplyTaskEvent(uuid, 1, TestEvents.Task("task-sent", uuid, 1))));
        }
        Assert.True(uuids.Select(extractor.ShardOf).Distinct().Count() > 90); // spread over the shards
    }
}
