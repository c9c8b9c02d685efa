using System.Diagnostics;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Receiver;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.Serialization;

namespace ActorMonitor.Bench;

/// <summary>
/// What a relayed event costs in the wire format alone: the capture's events, after the receiver
/// rules, as the entity messages a receiver sends, gathered into relay batches as large as
/// <see cref="RelayOutbox"/> makes them, each serialized and read back by the node serializer.
/// No remoting, no actors: the part of the cluster's cost per event that is ours.
/// BENCH_RELAY_BATCH=N closes a batch at N events as well (a node under a CPU quota sends a few
/// dozen per gather, far from the size limit).
/// </summary>
public static class RelayWire
{
    public static async Task<BenchResult> RunAsync(string[] lines)
    {
        var batches = Batches(lines, out var events);
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.journal = memory"));
        try
        {
            var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(batches[0]);
            var manifest = serializer.Manifest(batches[0]);
            var expected = batches.Sum(b => (long)b.Items.Count);
            // Five passes over every batch; the median pass counts (the first one pays for JIT).
            var passes = new List<(TimeSpan Took, long Allocated, long Bytes)>();
            for (var pass = 0; pass < 5; pass++)
            {
                long bytes = 0, read = 0;
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                foreach (var batch in batches)
                {
                    var binary = serializer.ToBinary(batch);
                    bytes += binary.Length;
                    read += ((RelayEvents)serializer.FromBinary(binary, manifest)).Items.Count;
                }
                passes.Add((sw.Elapsed, GC.GetAllocatedBytesForCurrentThread() - allocated, bytes));
                if (read != expected) throw new InvalidOperationException($"read {read} entity messages back of {expected}");
            }
            var median = passes.OrderBy(p => p.Took).ElementAt(passes.Count / 2);
            return new BenchResult(events, median.Took,
                $"batches={batches.Count} wire_bytes_per_event={median.Bytes / Math.Max(1, events)} allocated_bytes_per_event={median.Allocated / Math.Max(1, events)}");
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static List<RelayEvents> Batches(string[] lines, out long events)
    {
        var decoder = new EventDecoder();
        var rules = new ReceiverRules(() => 0);
        var outbox = new RelayOutbox();
        var node = new Address("akka.tcp", "actormonitor", "127.0.0.1", 4054);
        var batches = new List<RelayEvents>();
        var most = int.TryParse(Environment.GetEnvironmentVariable("BENCH_RELAY_BATCH"), out var n) && n > 0 ? n : int.MaxValue;
        var gathered = 0;
        long delivery = 0, seq = 0;
        events = 0;
        foreach (var line in lines)
        {
            var record = CaptureRecord.Parse(line, out _);
            if (record is null) continue;
            delivery++;
            foreach (var ev in decoder.Decode(record.Body).Events)
            {
                rules.Apply(ev, record.LocalReceived ?? 0);
                events++;
                object message = ev.IsTaskEvent
                    ? new ApplyTaskEvent(ev.Uuid!, delivery, TaskEvent.From(ev), ++seq)
                    : new ApplyWorkerEvents(ev.Hostname!, delivery, [WorkerEvent.From(ev)]);
                if (outbox.Add(node, message) is { } full)
                {
                    batches.Add(new RelayEvents(full));
                    gathered = 0;
                }
                else if (++gathered == most)
                {
                    batches.Add(new RelayEvents(outbox.Drain()[0].Items));
                    gathered = 0;
                }
            }
        }
        foreach (var (_, items) in outbox.Drain()) batches.Add(new RelayEvents(items));
        return batches;
    }
}
