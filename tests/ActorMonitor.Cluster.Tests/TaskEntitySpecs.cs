using ActorMonitor.Cluster.Tasks;
using Akka.Actor;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class TaskEntitySpecs : TestKit
{
    private IActorRef Entity(string uuid, IActorRef region) => Sys.ActorOf(Props.Create(() => new TaskEntity(uuid, () => region)));

    [Fact]
    public void Applies_events_acknowledges_and_answers_queries()
    {
        var region = CreateTestProbe();
        var task = Entity("u1", region.Ref);

        task.Tell(new GetTask("u1"));
        Assert.Null(ExpectMsg<TaskReply>().Task); // never seen: not a task yet

        task.Tell(new ApplyTaskEvent("u1", 7, TestEvents.Task("task-received", "u1", 10, "\"name\": \"t.add\"")));
        Assert.Equal(7, ExpectMsg<EventsApplied>().DeliveryId);
        task.Tell(new ApplyTaskEvent("u1", 8, TestEvents.Task("task-succeeded", "u1", 11, "\"result\": \"5\"")));
        ExpectMsg<EventsApplied>();

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
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the parent acknowledges, not the child

        child.Tell(new ApplyTaskEvent("c1", 2, TestEvents.Task("task-started", "c1", 11)));
        ExpectMsg<EventsApplied>(); // parent already told: no second AdoptChild
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var parent = Entity("p1", region.Ref);
        parent.Tell(adopt);
        Assert.Equal(1, ExpectMsg<EventsApplied>().DeliveryId);
        parent.Tell(new GetTask("p1"));
        Assert.Null(ExpectMsg<TaskReply>().Task); // children alone do not make a task exist
        parent.Tell(new ApplyTaskEvent("p1", 3, TestEvents.Task("task-received", "p1", 9)));
        ExpectMsg<EventsApplied>();
        parent.Tell(new GetTask("p1"));
        Assert.Equal(["c1"], ExpectMsg<TaskReply>().Task!.Children);
    }

    [Fact]
    public void A_retried_task_whose_parent_is_itself_lists_itself_as_child()
    {
        var region = CreateTestProbe();
        var task = Entity("r1", region.Ref);
        task.Tell(new ApplyTaskEvent("r1", 1, TestEvents.Task("task-sent", "r1", 10, "\"parent_id\": \"r1\"")));
        ExpectMsg<EventsApplied>();
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        task.Tell(new GetTask("r1"));
        Assert.Equal(["r1"], ExpectMsg<TaskReply>().Task!.Children);
    }
}
