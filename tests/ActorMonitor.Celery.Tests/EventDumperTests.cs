using ActorMonitor.Celery.Output;

namespace ActorMonitor.Celery.Tests;

public class EventDumperTests
{
    [Fact]
    public void Task_received_line_matches_celery_events_dump()
    {
        // The line celery events --dump printed for this event (Celery 5.2.6, checked against the command's output).
        var ev = Events.Decode("""{"hostname": "research@vm", "utcoffset": 0, "pid": 10564, "clock": 6, "uuid": "051cf4c6-00aa-4e10-8ced-df7a56206d6e", "name": "tasks.add", "args": "(2, 3)", "kwargs": "{}", "root_id": "051cf4c6-00aa-4e10-8ced-df7a56206d6e", "parent_id": null, "retries": 0, "eta": null, "expires": null, "timestamp": 1795431473.853021, "type": "task-received"}""");
        ev.LocalReceived = 1795431559.7950137;
        Assert.Equal(
            "research@vm [2026-11-23 10:57:53.853021] task received: tasks.add(051cf4c6-00aa-4e10-8ced-df7a56206d6e) args=(2, 3) kwargs={} clock=6, eta=None, expires=None, local_received=1795431559.7950137, parent_id=None, pid=10564, retries=0, root_id=051cf4c6-00aa-4e10-8ced-df7a56206d6e, utcoffset=0",
            new EventDumper().Format(ev));
    }

    [Fact]
    public void Later_task_events_reuse_the_name_seen_at_receive_and_worker_events_are_humanized()
    {
        var dumper = new EventDumper();
        var received = Events.Decode("""{"hostname": "w", "clock": 1, "uuid": "u1", "name": "t.add", "args": "()", "kwargs": "{}", "timestamp": 1795431473.5, "type": "task-received"}""");
        dumper.Format(received);
        var succeeded = Events.Decode("""{"hostname": "w", "clock": 2, "uuid": "u1", "result": "5", "runtime": 0.25, "timestamp": 1795431474.0, "type": "task-succeeded"}""");
        succeeded.LocalReceived = 1795431474.5;
        Assert.Equal("w [2026-11-23 10:57:54] task succeeded: t.add(u1) args=() kwargs={} clock=2, local_received=1795431474.5, result=5, runtime=0.25", dumper.Format(succeeded));

        var online = Events.Decode("""{"hostname": "w", "utcoffset": 0, "clock": 3, "freq": 2.0, "loadavg": [1.02, 0.5, 0.0], "sw_ident": "py-celery", "timestamp": 1795431468.2773495, "type": "worker-online"}""");
        online.LocalReceived = 1795431468.5;
        Assert.Equal("w [2026-11-23 10:57:48.277349] started: clock=3, freq=2.0, loadavg=[1.02, 0.5, 0.0], local_received=1795431468.5, sw_ident=py-celery, utcoffset=0", dumper.Format(online));
    }

    [Fact]
    public void Unknown_task_and_custom_types()
    {
        var progress = Events.Decode("""{"hostname": "w", "clock": 1, "uuid": "zz", "current": 1, "timestamp": 1795431473.5, "type": "task-progress"}""");
        progress.LocalReceived = 1;
        Assert.Equal("w [2026-11-23 10:57:53.500000] task progress:  clock=1, current=1, local_received=1.0", new EventDumper().Format(progress));
    }
}
