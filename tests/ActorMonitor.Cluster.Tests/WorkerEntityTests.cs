using ActorMonitor.Client;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class WorkerEntityTests : TestKit
{
    // Answers reach the test through the keeper, as they reach a receiver.
    private IActorRef Worker(string hostname) => Sys.ActorOf(WorkerEntity.PropsFor(Sys.ActorOf(AnsweringKeeper.Props()))(hostname));

    [Fact]
    public void A_redelivered_heartbeat_is_not_applied_twice()
    {
        var worker = Worker("w1@h");
        var beat = TestEvents.Worker("worker-heartbeat", 100, "\"freq\": 2.0") with { Id = 5 };
        worker.Tell(new ApplyWorkerEvents("w1@h", 1, [beat]));
        Assert.Null(ExpectMsg<EventsApplied>().Duplicates);
        worker.Tell(new ApplyWorkerEvents("w1@h", 2, [beat]));
        Assert.Equal([5UL], ExpectMsg<EventsApplied>().Duplicates);
        worker.Tell(new GetWorker("w1@h", 100));
        Assert.Equal([100.0], ExpectMsg<WorkerReply>().Worker!.Heartbeats);
    }

    [Fact]
    public void Applies_a_batch_in_order_and_judges_alive_at_the_asked_time()
    {
        var worker = Worker("w1@h");
        worker.Tell(new ApplyWorkerEvents("w1@h", 4, [
            TestEvents.Worker("worker-online", 100, "\"freq\": 2.0"),
            TestEvents.Worker("worker-heartbeat", 102, "\"freq\": 2.0, \"active\": 3"),
        ]));
        Assert.Equal(4, ExpectMsg<EventsApplied>().DeliveryId);

        worker.Tell(new GetWorker("w1@h", 105.9));
        var alive = ExpectMsg<WorkerReply>().Worker!;
        Assert.True(alive.Alive);
        Assert.Equal([100.0, 102], alive.Heartbeats);
        worker.Tell(new GetWorker("w1@h", 106));
        Assert.False(ExpectMsg<WorkerReply>().Worker!.Alive);
    }

    [Fact]
    public void Offline_for_a_host_never_seen_leaves_no_worker()
    {
        var worker = Worker("gone@h");
        worker.Tell(new ApplyWorkerEvents("gone@h", 1, [TestEvents.Worker("worker-offline", 100, hostname: "gone@h")]));
        ExpectMsg<EventsApplied>();
        worker.Tell(new GetWorker("gone@h", 100));
        Assert.Null(ExpectMsg<WorkerReply>().Worker);
    }

    [Fact]
    public void Drift_past_16_seconds_is_logged_once()
    {
        var worker = Worker("w1@h");
        var skewed = TestEvents.Worker("worker-heartbeat", 140) with { LocalReceived = 100 };
        EventFilter.Warning(contains: "Substantial drift from w1@h").Expect(1, () =>
        {
            worker.Tell(new ApplyWorkerEvents("w1@h", 1, [skewed, skewed with { Timestamp = 141 }]));
            ExpectMsg<EventsApplied>();
        });
    }
}
