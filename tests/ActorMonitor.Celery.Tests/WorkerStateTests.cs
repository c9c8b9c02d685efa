using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Tests;

public class WorkerStateTests
{
    private static WorkerEvent Hb(double localReceived, double? timestamp = null) =>
        Events.Worker("worker-heartbeat", timestamp ?? localReceived, localReceived);

    [Fact]
    public void Heartbeats_keep_four_sorted_and_a_late_one_evicts_the_oldest()
    {
        var w = new WorkerState("w1@h");
        foreach (var t in new[] { 4.0, 5, 6, 7 }) w.Apply(Hb(t));
        Assert.Equal([4.0, 5, 6, 7], w.Heartbeats);
        w.Apply(Hb(3.5)); // verified in Celery: [4,5,6,7] + 3.5 -> [3.5,5,6,7]
        Assert.Equal([3.5, 5, 6, 7], w.Heartbeats);
        w.Apply(Hb(8));
        Assert.Equal([5.0, 6, 7, 8], w.Heartbeats);
    }

    [Fact]
    public void Equal_heartbeats_insert_to_the_right()
    {
        var w = new WorkerState("w1@h");
        w.Apply(Hb(5));
        w.Apply(Hb(3));
        w.Apply(Hb(3));
        Assert.Equal([3.0, 3, 5], w.Heartbeats);
    }

    [Fact]
    public void Task_event_heartbeat_stores_the_event_timestamp_not_the_receive_time()
    {
        var ev = Events.Decode("""{"hostname": "w1@h", "clock": 2, "uuid": "u", "timestamp": 100.25, "type": "task-started"}""");
        ev.LocalReceived = 130.5;
        var w = new WorkerState("w1@h");
        w.Apply(WorkerEvent.TaskHeartbeat(ev));
        Assert.True(w.Exists);
        Assert.Equal([100.25], w.Heartbeats);
        Assert.Equal(("60", "0", (string?)null), (w["freq"], w["clock"], w["pid"])); // no fields from task events
    }

    [Fact]
    public void Worker_event_copies_fields_and_keeps_absent_ones()
    {
        var w = new WorkerState("w1@h");
        w.Apply(Events.Worker("worker-online", 10, 10, "\"freq\": 2.0, \"active\": 1, \"sw_ver\": \"5.2.6\""));
        w.Apply(Events.Worker("worker-heartbeat", 12, 12, "\"freq\": 5"));
        Assert.Equal(("5", "1", "\"5.2.6\"", "10", "3"), (w["freq"], w["active"], w["sw_ver"], w["pid"], w["clock"]));
    }

    [Fact]
    public void Offline_clears_heartbeats_and_offline_for_an_unknown_host_stores_nothing()
    {
        var w = new WorkerState("w1@h");
        w.Apply(Events.Worker("worker-offline", 10, 10, "\"freq\": 2.0"));
        Assert.False(w.Exists);
        Assert.Equal("60", w["freq"]);

        w.Apply(Hb(11));
        w.Apply(Events.Worker("worker-offline", 12, 12));
        Assert.True(w.Exists);
        Assert.Empty(w.Heartbeats);
        Assert.False(w.IsAlive(12));
    }

    [Fact]
    public void Alive_until_last_heartbeat_plus_twice_freq_strictly()
    {
        var w = new WorkerState("w1@h");
        w.Apply(Events.Worker("worker-heartbeat", 100, 100, "\"freq\": 2.0"));
        Assert.True(w.IsAlive(103.999));
        Assert.False(w.IsAlive(104));

        var fromTasks = new WorkerState("w2@h"); // freq defaults to 60: + 120 s
        fromTasks.Apply(Hb(100));
        Assert.True(fromTasks.IsAlive(219.9));
        Assert.False(fromTasks.IsAlive(220));
    }

    [Fact]
    public void Falsy_times_set_fields_but_add_no_heartbeat()
    {
        var w = new WorkerState("w1@h");
        w.Apply(Events.Worker("worker-heartbeat", 0, 100, "\"active\": 4"));
        Assert.Equal("4", w["active"]);
        Assert.Empty(w.Heartbeats);
    }

    [Fact]
    public void Drift_past_16_s_warns_once_per_worker_on_truncated_seconds()
    {
        var w = new WorkerState("w1@h");
        Assert.Null(w.Apply(Hb(100.1, 116.9)));          // int(100.1) - int(116.9) = 16: no warning
        var warning = w.Apply(Hb(100.9, 117.0));       // 17
        Assert.NotNull(warning);
        Assert.Equal(17, warning.Drift);
        Assert.Contains("Substantial drift from w1@h", warning.ToString());
        Assert.Null(w.Apply(Hb(100.9, 160)));           // once per hostname
    }

    private static WorkerEvent W(string type, int pid, int clock, double timestamp, int processed) =>
        Events.Worker(type, timestamp, timestamp + 0.01, $"\"processed\": {processed}, \"active\": {processed % 3}").WithFields(pid, clock);

    [Fact]
    public void An_older_event_of_the_same_process_applied_after_a_newer_one_leaves_the_fields_as_the_newer_one_set_them()
    {
        var w = new WorkerState("w1@h");
        w.Apply(W("worker-online", 10, 1, 100, 0));
        w.Apply(W("worker-heartbeat", 10, 9, 104, 40));
        w.Apply(W("worker-heartbeat", 10, 5, 102, 20)); // redelivered after the newer one
        Assert.Equal(("40", "9", "1"), (w["processed"], w["clock"], w["active"]));
        Assert.Equal(1, w.StaleEvents);
        Assert.Equal([100.01, 102.01, 104.01], w.Heartbeats); // Celery keeps every heartbeat, whatever the order
        w.Apply(W("worker-heartbeat", 10, 12, 106, 60));
        Assert.Equal(("60", "12"), (w["processed"], w["clock"]));
    }

    [Fact]
    public void A_restarted_worker_begins_a_new_sequence_and_late_events_of_the_old_process_are_history()
    {
        var w = new WorkerState("w1@h");
        w.Apply(W("worker-heartbeat", 10, 500, 100, 900));
        w.Apply(W("worker-online", 11, 1, 200, 0)); // new pid, clock from the start again
        Assert.Equal(("11", "1", "0"), (w["pid"], w["clock"], w["processed"]));
        w.Apply(W("worker-heartbeat", 10, 501, 101, 901)); // the old process's last heartbeat, late
        Assert.Equal(("11", "1", "0"), (w["pid"], w["clock"], w["processed"]));
        w.Apply(W("worker-heartbeat", 11, 3, 202, 5));
        Assert.Equal(("3", "5"), (w["clock"], w["processed"]));
    }

    [Fact]
    public void A_worker_online_under_the_same_pid_is_a_restart_when_sent_later_and_a_redelivery_when_sent_earlier()
    {
        var w = new WorkerState("w1@h");
        w.Apply(W("worker-online", 1, 1, 100, 0));
        w.Apply(W("worker-heartbeat", 1, 50, 150, 70));
        w.Apply(W("worker-online", 1, 1, 100, 0)); // the same online again, after the heartbeat
        Assert.Equal(("50", "70"), (w["clock"], w["processed"]));
        w.Apply(W("worker-online", 1, 2, 300, 0)); // a container restarted: same pid, clock from the start
        Assert.Equal(("2", "0"), (w["clock"], w["processed"]));
    }

    [Fact]
    public void The_newest_event_time_survives_the_row()
    {
        var record = new ActorMonitor.Celery.Durable.WorkerRecord("w1@h");
        record.Apply(W("worker-online", 1, 1, 100, 0), out _);
        record.Apply(W("worker-heartbeat", 1, 50, 150, 70), out _);
        var back = ActorMonitor.Celery.Durable.WorkerRecord.FromRow("w1@h", record.ToRow());
        back.Apply(W("worker-online", 1, 1, 100, 0) with { Id = 99 }, out _); // a redelivered online after a restart of the node
        Assert.Equal(("50", "70"), (back.State["clock"], back.State["processed"]));
    }
}
