using System.Text;
using System.Text.Json;
using ActorMonitor.Cluster.Metrics;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

/// <summary>The dashboard's charts: the batches a node's metrics actor publishes, and the buckets every node keeps of them.</summary>
public class ChartSeriesTests : TestKit
{
    private static TaskObserved Task(string uuid, string type, string name = "tasks.add", double? runtime = null) =>
        new(uuid, type, "w1@h", name, "celery", null, "w1@h", runtime, runtime, null, false, null, null, 10, null);

    private static string Batch(Action<LiveBatch> fill, params (string Hostname, double? Expires)[] workers)
    {
        var batch = new LiveBatch();
        fill(batch);
        foreach (var (h, _) in workers) batch.Worker(h);
        var expires = workers.ToDictionary(w => w.Hostname, w => w.Expires);
        return batch.Take(100, (w, h) =>
        {
            w.WriteStartObject();
            w.WriteString("hostname", h);
            if (expires[h] is { } e) w.WriteNumber("heartbeat_expires", e);
            else w.WriteNull("heartbeat_expires");
            w.WriteEndObject();
        });
    }

    private static JsonElement Render(ChartSeries series, double now, double? since = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) series.Write(w, now, since);
        return JsonDocument.Parse(buffer.ToArray()).RootElement.Clone();
    }

    [Theory]
    [InlineData(1e-7, 0)]
    [InlineData(1e-6, 0)]
    [InlineData(1.0, RuntimeBins.Offset)]
    [InlineData(1.0000001, RuntimeBins.Offset + 1)]
    [InlineData(0.0123, 66)]
    [InlineData(1e9, RuntimeBins.Max)]
    public void A_runtime_falls_in_the_bin_whose_upper_bound_is_the_first_at_or_above_it(double seconds, int bin)
    {
        Assert.Equal(bin, RuntimeBins.Of(seconds));
        if (bin is > 0 and < RuntimeBins.Max)
        {
            Assert.True(seconds <= RuntimeBins.UpperBound(bin) * (1 + 1e-12));
            Assert.True(seconds > RuntimeBins.UpperBound(bin - 1));
        }
    }

    [Fact]
    public void A_batch_counts_every_event_by_type_and_the_succeeded_runtimes_by_name_then_starts_empty()
    {
        var batch = new LiveBatch();
        Assert.True(batch.IsEmpty);
        batch.Task(Task("u1", "task-received"));
        batch.Task(Task("u1", "task-succeeded", runtime: 0.0123));
        batch.Task(Task("u2", "task-succeeded", runtime: 0.0124));
        batch.Task(Task("u3", "task-succeeded", "tasks.mul", runtime: 2));
        batch.Task(Task("u4", "task-progress"));
        batch.Event("worker-heartbeat");
        batch.Event("worker-heartbeat");
        Assert.False(batch.IsEmpty);

        using var doc = JsonDocument.Parse(batch.Take(100, (_, _) => { }));
        var counts = doc.RootElement.GetProperty("counts");
        Assert.Equal(1, counts.GetProperty("task-received").GetInt32());
        Assert.Equal(3, counts.GetProperty("task-succeeded").GetInt32());
        Assert.Equal(1, counts.GetProperty("task-progress").GetInt32());
        Assert.Equal(2, counts.GetProperty("worker-heartbeat").GetInt32());
        var add = doc.RootElement.GetProperty("runtimes").GetProperty("tasks.add").EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToList();
        Assert.Equal([(66, 2)], add); // both in (10^-1.9375, 10^-1.875]
        Assert.Equal(4, doc.RootElement.GetProperty("tasks").GetArrayLength());
        Assert.True(batch.IsEmpty);
    }

    [Fact]
    public void Batches_of_every_node_add_up_in_the_bucket_of_their_arrival_and_old_buckets_go()
    {
        var series = new ChartSeries(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20));
        var fromA = Batch(b => { b.Task(Task("u1", "task-succeeded", runtime: 1)); b.Event("worker-heartbeat"); });
        var fromB = Batch(b => { b.Task(Task("u2", "task-succeeded", runtime: 1)); b.Task(Task("u3", "task-failed")); });
        series.AddBatch(fromA, 1001);
        series.AddBatch(fromB, 1004.9);
        series.AddBatch(fromA, 1005); // the next bucket
        var all = Render(series, 1006);
        Assert.Equal(5, all.GetProperty("step").GetInt32());
        var buckets = all.GetProperty("buckets").EnumerateArray().ToList();
        Assert.Equal([1000L, 1005L], buckets.Select(b => b.GetProperty("t").GetInt64()));
        Assert.Equal(2, buckets[0].GetProperty("events").GetProperty("task-succeeded").GetInt32());
        Assert.Equal(1, buckets[0].GetProperty("events").GetProperty("task-failed").GetInt32());
        Assert.Equal([[RuntimeBins.Offset, 2]], buckets[0].GetProperty("runtimes").GetProperty("tasks.add").EnumerateArray()
            .Select(p => new[] { p[0].GetInt32(), p[1].GetInt32() }));
        Assert.Equal(1, buckets[1].GetProperty("events").GetProperty("task-succeeded").GetInt32());

        // since: the buckets that end after it; past the retention (4 buckets), the oldest go.
        Assert.Single(Render(series, 1006, since: 1005).GetProperty("buckets").EnumerateArray());
        series.Sample(1021);
        var kept = Render(series, 1021).GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("t").GetInt64()).ToList();
        Assert.Equal([1005L, 1010L, 1015L, 1020L], kept);
    }

    [Fact]
    public void Workers_online_follow_their_heartbeat_expiry_at_every_sample()
    {
        var series = new ChartSeries(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1));
        series.AddBatch(Batch(_ => { }, ("w1@h", 1012.0), ("w2@h", 1030.0)), 1001);
        Assert.Equal(2, Online(series, 1004));
        series.Sample(1011);
        Assert.Equal(2, Online(series, 1011));
        series.Sample(1013); // w1's heartbeats expired
        Assert.Equal(1, Online(series, 1013));
        series.AddBatch(Batch(_ => { }, ("w2@h", null)), 1016); // worker-offline cleared w2's heartbeats
        Assert.Equal(0, Online(series, 1016));
        // A bucket keeps what was last sampled in it.
        Assert.Equal([2, 1, 0], Render(series, 1016).GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("workers_online").GetInt32()).Skip(1));

        static int Online(ChartSeries s, double now) =>
            Render(s, now).GetProperty("buckets").EnumerateArray().Last().GetProperty("workers_online").GetInt32();
    }

    [Fact]
    public void Past_the_name_limit_a_bucket_keeps_runtimes_under_one_other_name()
    {
        var series = new ChartSeries(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1));
        series.AddBatch(Batch(b =>
        {
            for (var i = 0; i < ChartSeries.MaxNamesPerBucket + 3; i++) b.Task(Task($"u{i}", "task-succeeded", $"tasks.n{i:D4}", runtime: 1));
        }), 1000);
        var runtimes = Render(series, 1000).GetProperty("buckets")[0].GetProperty("runtimes");
        Assert.Equal(ChartSeries.MaxNamesPerBucket + 1, runtimes.EnumerateObject().Count());
        Assert.Equal(3, runtimes.GetProperty(ChartSeries.OtherNames).EnumerateArray().Sum(p => p[1].GetInt32()));
    }

    [Fact]
    public async Task The_chart_actor_keeps_every_published_batch_and_pushes_the_newest_buckets_to_listeners()
    {
        var now = 1000.0;
        var live = new LiveFeed();
        using var listener = live.Listen();
        var mediator = CreateTestProbe();
        var charts = Sys.ActorOf(ChartActor.Props(new ChartSeries(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5)), live, () => now, mediator.Ref,
            TimeSpan.FromMilliseconds(50)));
        Assert.Equal(LiveFeed.Topic, mediator.ExpectMsg<Subscribe>().Topic);

        charts.Tell(Batch(b => b.Task(Task("u1", "task-received"))));
        AwaitAssert(() =>
        {
            Assert.True(listener.Reader.TryRead(out var message));
            Assert.Equal(LiveFeed.ChartEvent, message.Event);
            using var doc = JsonDocument.Parse(message.Data);
            Assert.Equal(1, doc.RootElement.GetProperty("buckets").EnumerateArray().Last().GetProperty("events").GetProperty("task-received").GetInt32());
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20));

        now = 1012; // two buckets on: the push carries the last two
        charts.Tell(Batch(b => b.Task(Task("u2", "task-received"))));
        AwaitAssert(() =>
        {
            Assert.True(listener.Reader.TryRead(out var message));
            using var doc = JsonDocument.Parse(message.Data);
            Assert.Equal([1005L, 1010L], doc.RootElement.GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("t").GetInt64()));
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20));

        var all = await charts.Ask<Charts>(new GetCharts(null), TimeSpan.FromSeconds(5));
        using var history = JsonDocument.Parse(all.Json);
        Assert.Equal(2, history.RootElement.GetProperty("buckets").EnumerateArray()
            .Sum(b => b.GetProperty("events").TryGetProperty("task-received", out var n) ? n.GetInt32() : 0));
    }
}
