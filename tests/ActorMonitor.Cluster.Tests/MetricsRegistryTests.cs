using ActorMonitor.Client;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class MetricsRegistryTests : TestKit
{
    private static TaskObserved Event(string type, string worker = "w1@h", string name = "tasks.add", double? received = 10, double? started = null,
        string? exception = null, double? runtime = null, double? sent = null, bool eta = false) =>
        new("u1", type, worker, name, "celery", null, worker, runtime, runtime, exception, eta, null, sent, received, started);

    private static Dictionary<string, double> Samples(string text) => text.Split('\n')
        .Where(l => l.Length > 0 && l[0] != '#')
        .ToDictionary(l => l[..l.LastIndexOf(' ')], l => double.Parse(l[(l.LastIndexOf(' ') + 1)..].Replace("+Inf", "Infinity"), System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Series_are_kept_apart_by_every_label_and_written_in_label_order()
    {
        var r = new MetricsRegistry();
        // Label values that a joined key could confuse ("a" + "bc" against "ab" + "c") stay apart.
        r.Observe(Event("task-received", worker: "b@h", name: "ab"), 100);
        r.Observe(Event("task-received", worker: "a@h", name: "c"), 100);
        r.Observe(Event("task-received", worker: "a@h", name: "c"), 100);
        r.Observe(Event("task-received", worker: "a@h", name: "bc"), 100);
        var text = r.Render([]);
        var lines = text.Split('\n').Where(l => l.StartsWith("flower_events_total{")).ToList();
        Assert.Equal(
        [
            "flower_events_total{worker=\"a@h\",type=\"task-received\",task=\"bc\"} 1.0",
            "flower_events_total{worker=\"a@h\",type=\"task-received\",task=\"c\"} 2.0",
            "flower_events_total{worker=\"b@h\",type=\"task-received\",task=\"ab\"} 1.0",
        ], lines);

        // Forgetting a worker drops its series and its exporter label sets, not the others'.
        Assert.True(r.Forget("a@h") > 0);
        var left = Samples(r.Render([])).Keys.Where(k => k.StartsWith("celery_task_received_total{")).ToList();
        Assert.Equal(["celery_task_received_total{name=\"ab\",hostname=\"b@h\",queue_name=\"celery\"}"], left);
    }

    [Fact]
    public void Queue_gauges_are_the_last_sample_and_a_queue_left_out_drops_its_series()
    {
        var r = new MetricsRegistry();
        var empty = r.Render([]);
        // HELP and TYPE of every queue gauge, even before a sample.
        foreach (var name in new[] { "celery_queue_length", "celery_active_consumer_count", "celery_active_worker_count", "celery_active_process_count" })
        {
            Assert.Contains($"# TYPE {name} gauge\n", empty);
            Assert.Contains($"# HELP {name} ", empty);
        }
        r.SetQueues([new QueueSample("celery", 7, 1, 1, 4), new QueueSample("high \"prio\"", 0, 2, 2, 6)]);
        var s = Samples(r.Render([]));
        Assert.Equal(7, s["celery_queue_length{queue_name=\"celery\"}"]);
        Assert.Equal(1, s["celery_active_consumer_count{queue_name=\"celery\"}"]);
        Assert.Equal(1, s["celery_active_worker_count{queue_name=\"celery\"}"]);
        Assert.Equal(4, s["celery_active_process_count{queue_name=\"celery\"}"]);
        Assert.Equal(6, s["celery_active_process_count{queue_name=\"high \\\"prio\\\"\"}"]);

        r.SetQueues([new QueueSample("celery", 3, 0, 0, 0)]);
        s = Samples(r.Render([]));
        Assert.Equal(3, s["celery_queue_length{queue_name=\"celery\"}"]);
        Assert.Equal(0, s["celery_active_worker_count{queue_name=\"celery\"}"]);
        Assert.DoesNotContain(s.Keys, k => k.Contains("prio"));
        r.SetQueues([]);
        Assert.DoesNotContain(r.Render([]).Split('\n'), l => l.StartsWith("celery_queue_length{"));
    }

    [Fact]
    public void Counts_by_the_rules_of_flower_and_celery_exporter()
    {
        var r = new MetricsRegistry();
        r.Observe(Event("task-sent", worker: "gen1@client", received: null, sent: 9), 100);
        r.Observe(Event("task-received"), 100);
        r.Observe(Event("task-started", started: 12.5, sent: 9), 100);
        r.Observe(Event("task-failed", started: 12.5, exception: "ValueError('x')"), 100);
        r.Observe(Event("task-progress", started: 12.5), 100);
        var s = Samples(r.Render([]));

        Assert.Equal(1, s["flower_events_total{worker=\"gen1@client\",type=\"task-sent\",task=\"tasks.add\"}"]);
        Assert.Equal(1, s["flower_events_total{worker=\"w1@h\",type=\"task-progress\",task=\"tasks.add\"}"]); // custom types too
        // Flower's prefetch: +1 received, -1 started (prefetch time = started - received), 0 once ended.
        Assert.Equal(0, s["flower_worker_prefetched_tasks{worker=\"w1@h\",task=\"tasks.add\"}"]);
        Assert.Equal(0, s["flower_task_prefetch_time_seconds{worker=\"w1@h\",task=\"tasks.add\"}"]);
        Assert.Equal(1, s["celery_task_sent_total{name=\"tasks.add\",hostname=\"gen1@client\",queue_name=\"celery\"}"]);
        // celery-exporter shows every other counter at 0 for a worker's labels, never for task-sent's client.
        Assert.Equal(0, s["celery_task_retried_total{name=\"tasks.add\",hostname=\"w1@h\",queue_name=\"celery\"}"]);
        Assert.DoesNotContain(s.Keys, k => k.StartsWith("celery_task_retried_total") && k.Contains("gen1@client"));
        Assert.Equal(1, s["celery_task_failed_total{name=\"tasks.add\",hostname=\"w1@h\",exception=\"ValueError\",queue_name=\"celery\"}"]);
        Assert.Equal(0, s["celery_task_failed_total{name=\"tasks.add\",hostname=\"w1@h\",exception=\"\",queue_name=\"celery\"}"]);
        Assert.DoesNotContain(s.Keys, k => k.Contains("task-progress") && k.StartsWith("celery_"));
        // Queue wait: started - max(sent, eta) = 3.5 s, in the bucket of 5 s and above.
        Assert.Equal(0, s["celery_task_queue_wait_time_bucket{name=\"tasks.add\",hostname=\"w1@h\",queue_name=\"celery\",le=\"2.5\"}"]);
        Assert.Equal(1, s["celery_task_queue_wait_time_bucket{name=\"tasks.add\",hostname=\"w1@h\",queue_name=\"celery\",le=\"5.0\"}"]);
        Assert.Equal(1, s["celery_task_queue_wait_time_count{name=\"tasks.add\",hostname=\"w1@h\",queue_name=\"celery\"}"]);
        Assert.Equal(3.5, s["celery_task_queue_wait_time_sum{name=\"tasks.add\",hostname=\"w1@h\",queue_name=\"celery\"}"]);
    }

    [Fact]
    public void Histograms_are_cumulative_and_worker_gauges_follow_the_expiry_rule()
    {
        var r = new MetricsRegistry();
        r.Observe(Event("task-succeeded", runtime: 0.3), 100);
        r.Observe(Event("task-succeeded", runtime: 4), 100);
        var s = Samples(r.Render([new WorkerGauge("w1@h", Alive: true, Active: 3), new WorkerGauge("w2@h", Alive: false, Active: 3)]));
        Assert.Equal(0, s["flower_task_runtime_seconds_bucket{worker=\"w1@h\",task=\"tasks.add\",le=\"0.25\"}"]);
        Assert.Equal(1, s["flower_task_runtime_seconds_bucket{worker=\"w1@h\",task=\"tasks.add\",le=\"0.5\"}"]);
        Assert.Equal(2, s["flower_task_runtime_seconds_bucket{worker=\"w1@h\",task=\"tasks.add\",le=\"5.0\"}"]);
        Assert.Equal(2, s["celery_task_runtime_bucket{name=\"tasks.add\",hostname=\"w1@h\",queue_name=\"celery\",le=\"+Inf\"}"]);
        Assert.Equal(4.3, s["celery_task_runtime_sum{name=\"tasks.add\",hostname=\"w1@h\",queue_name=\"celery\"}"], 9);
        Assert.Equal(1, s["celery_worker_up{hostname=\"w1@h\"}"]);
        Assert.Equal(3, s["celery_worker_tasks_active{hostname=\"w1@h\"}"]);
        Assert.Equal(0, s["flower_worker_online{worker=\"w2@h\"}"]); // heartbeats expired: down, unlike Flower
        Assert.Equal(0, s["flower_worker_number_of_currently_executing_tasks{worker=\"w2@h\"}"]);
    }

    [Fact]
    public void Forgetting_a_worker_drops_every_series_it_labels_and_values_are_escaped()
    {
        var r = new MetricsRegistry();
        r.Observe(Event("task-received", worker: "w1@h"), 100);
        r.Observe(Event("task-received", worker: "w2@h", name: "say \"hi\"\\n"), 100);
        Assert.True(r.Forget("w1@h") > 0);
        var text = r.Render([]);
        Assert.DoesNotContain("w1@h", text);
        Assert.Contains("task=\"say \\\"hi\\\"\\\\n\"", text);
        Assert.Equal(["w2@h"], r.Hostnames);
    }

    [Theory]
    [InlineData("RuntimeError('flaky 2')", "RuntimeError")]
    [InlineData("Retry(Retry(...), RuntimeError('flaky 0'))", "Retry")]
    [InlineData("something odd", "UnknownException")]
    [InlineData(null, "UnknownException")]
    public void Exception_class_as_celery_exporter_reads_it(string? exception, string expected) =>
        Assert.Equal(expected, MetricsRegistry.ExceptionClass(exception));

    [Fact]
    public void A_worker_entity_reports_its_worker_to_the_metrics_actor_of_its_node_and_releases_it_when_it_stops()
    {
        var keeper = CreateTestProbe();
        var metrics = CreateTestProbe();
        var worker = Sys.ActorOf(WorkerEntity.PropsFor(keeper.Ref, metrics.Ref)("w1@h"));
        keeper.ExpectMsg<LoadEntity>();
        keeper.Reply(new RowLoaded("w1@h", null));
        worker.Tell(new ApplyWorkerEvents("w1@h", 1, [TestEvents.Worker("worker-heartbeat", 100, "\"freq\": 2.0, \"active\": 3") with { Id = 1 }]));
        Assert.Equal(1, keeper.ExpectMsg<EntityApplied>().Answer!.DeliveryId); // answered through its keeper
        var seen = metrics.ExpectMsg<WorkerObserved>();
        Assert.Equal(3, seen.Active);
        Assert.Equal(2.0, seen.Freq);
        Assert.False(seen.Offline);
        Assert.True(MetricsActor.IsAlive(seen.Heartbeats, seen.Freq, seen.Heartbeats[^1] + 3.9));
        Assert.False(MetricsActor.IsAlive(seen.Heartbeats, seen.Freq, seen.Heartbeats[^1] + 4));
        Sys.Stop(worker);
        Assert.Equal("w1@h", metrics.ExpectMsg<WorkerReleased>().Hostname);
    }
}

public class MetricsActorTests : TestKit
{
    private static WorkerObserved Down(string hostname) => new(hostname, [], 2, 0, 5, null, LastEventAt: 100, Drift: 0.5, Offline: true);

    [Fact]
    public void A_worker_handed_off_to_another_node_is_started_there_so_that_its_gauges_move_with_it()
    {
        var region = CreateTestProbe();
        var pubsub = CreateTestProbe();
        var metrics = Sys.ActorOf(MetricsActor.Props(new MetricsRegistry(), TimeSpan.FromHours(1), () => 200, () => region.Ref, pubsub.Ref));
        metrics.Tell(Down("w1@h"));
        metrics.Tell(Down("w2@h"));
        metrics.Tell(new WorkerReleased("w1@h", HandedOff: true));
        metrics.Tell(new WorkerReleased("w2@h", HandedOff: false)); // passivated: stays down in memory only
        Assert.Equal("w1@h", region.ExpectMsg<GetWorker>(TimeSpan.FromSeconds(5)).Hostname);
        region.ExpectNoMsg(TimeSpan.FromSeconds(1));
        metrics.Tell(GetMetricsText.Instance);
        var text = ExpectMsg<MetricsText>().Text;
        Assert.DoesNotContain("w1@h", text);
        Assert.DoesNotContain("w2@h", text);
    }

    [Fact]
    public void A_worker_down_longer_than_the_delay_loses_its_series_and_batches_carry_the_changes()
    {
        var region = CreateTestProbe();
        var pubsub = CreateTestProbe();
        var now = 100.0;
        var metrics = Sys.ActorOf(MetricsActor.Props(new MetricsRegistry(), TimeSpan.FromSeconds(1), () => now, () => region.Ref, pubsub.Ref,
            TimeSpan.FromMilliseconds(50)));
        metrics.Tell(new TasksObserved([new TaskObserved("u1", "task-received", "w1@h", "tasks.add", "celery", "RECEIVED", "w1@h", null, null, null, false, null, null, 99, null)]));
        metrics.Tell(Down("w1@h"));
        var batch = pubsub.ExpectMsg<Akka.Cluster.Tools.PublishSubscribe.Publish>();
        Assert.Equal(LiveFeed.Topic, batch.Topic);
        using (var doc = System.Text.Json.JsonDocument.Parse((string)batch.Message))
        {
            Assert.Equal("u1", doc.RootElement.GetProperty("tasks")[0].GetProperty("uuid").GetString());
            Assert.Equal("offline", doc.RootElement.GetProperty("workers")[0].GetProperty("status").GetString());
        }
        metrics.Tell(GetMetricsText.Instance);
        Assert.Contains("celery_worker_up{hostname=\"w1@h\"} 0.0", ExpectMsg<MetricsText>().Text);
        now = 102; // offline at 100 (its last event), forgotten after 1 s
        AwaitAssert(() =>
        {
            metrics.Tell(GetMetricsText.Instance);
            Assert.DoesNotContain("w1@h", ExpectMsg<MetricsText>().Text);
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(300));
    }
}
