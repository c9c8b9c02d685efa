using System.Diagnostics;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Hosting;

namespace ActorMonitor.Bench;

/// <summary>A timed run; <paramref name="Extra"/> adds key=value figures to its line (the CPU shares of a live run).</summary>
public sealed record BenchResult(long Events, TimeSpan Elapsed, string Extra = "");

public static class Modes
{
    public static BenchResult Decode(string[] lines)
    {
        var decoder = new EventDecoder();
        long events = 0;
        var sw = Stopwatch.StartNew();
        foreach (var line in lines)
        {
            var record = CaptureRecord.Parse(line, out _);
            if (record is not null) events += decoder.Decode(record.Body).Events.Count;
        }
        return new BenchResult(events, sw.Elapsed);
    }

    /// <summary>The protocol library alone, on one thread: decode, receiver rules, index, task and worker state.</summary>
    public static BenchResult Inline(string[] lines)
    {
        var decoder = new EventDecoder();
        var rules = new ActorMonitor.Celery.Receiver.ReceiverRules(() => 0);
        var index = new ActorMonitor.Celery.State.EventIndex();
        var tasks = new Dictionary<string, ActorMonitor.Celery.State.TaskState>();
        var workers = new Dictionary<string, ActorMonitor.Celery.State.WorkerState>();
        long events = 0;
        var sw = Stopwatch.StartNew();
        foreach (var line in lines)
        {
            var record = CaptureRecord.Parse(line, out _);
            if (record is null) continue;
            foreach (var ev in decoder.Decode(record.Body).Events)
            {
                rules.Apply(ev, record.LocalReceived ?? 0);
                index.Apply(ActorMonitor.Celery.State.IndexEntry.From(ev));
                if (ev.IsTaskEvent)
                {
                    if (!tasks.TryGetValue(ev.Uuid!, out var t)) tasks[ev.Uuid!] = t = new(ev.Uuid!);
                    t.Apply(ActorMonitor.Celery.State.TaskEvent.From(ev));
                }
                if (ev.IsWorkerEvent || ev.IsTaskEvent && ev.Subject != "sent")
                {
                    if (!workers.TryGetValue(ev.Hostname!, out var w)) workers[ev.Hostname!] = w = new(ev.Hostname!);
                    w.Apply(ev.IsWorkerEvent ? ActorMonitor.Celery.State.WorkerEvent.From(ev) : ActorMonitor.Celery.State.WorkerEvent.TaskHeartbeat(ev));
                }
                events++;
            }
        }
        return new BenchResult(events, sw.Elapsed);
    }

    public static async Task<BenchResult> ReplayAsync(byte[] capture)
    {
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory\n" + Environment.GetEnvironmentVariable("BENCH_HOCON")));
        try
        {
            var node = await MonitorNode.StartAsync(system);
            var sw = Stopwatch.StartNew();
            using (var reader = new MemoryStream(capture, writable: false))
                await CaptureFeeder.FeedAsync(node, reader);
            await node.Queries.DrainAsync(TimeSpan.FromMinutes(5));
            var elapsed = sw.Elapsed;
            var stats = await node.Queries.ReceiverStatsAsync();
            return new BenchResult(stats.AcceptedEvents, elapsed);
        }
        finally
        {
            await system.Terminate();
        }
    }

    public static Task<BenchResult> BareAsync(string[] lines) => BareSharding.RunAsync(lines);
}

