using ActorMonitor.Client;
using System.Diagnostics;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Hosting;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Bench;

/// <summary>
/// The ceiling our pipeline is measured against: the same decoded events, one Tell per event to
/// a sharded entity (task uuid or worker hostname) that only counts and acknowledges, behind
/// the same kind of in-flight window. No receiver rules, no state, no index.
/// </summary>
public static class BareSharding
{
    private sealed record Count(string Id, long Message);
    private sealed record Counted(long Message);

    private sealed class Counter : ReceiveActor
    {
        private long _n;
        public Counter() => Receive<Count>(m => { _n++; Sender.Tell(new Counted(m.Message)); });
    }

    private sealed class Extractor(int shards) : HashCodeMessageExtractor(shards)
    {
        public override string? EntityId(object message) => (message as Count)?.Id;
    }

    /// <summary>Counts acknowledgements per message and frees a window slot when a message is complete.</summary>
    private sealed class Source : ReceiveActor
    {
        private readonly Dictionary<long, int> _pending = new();

        public Source(SemaphoreSlim window)
        {
            // Registered before any of the message's events is told, so it is always first in the mailbox.
            Receive<Register>(r => _pending[r.Message] = r.Count);
            Receive<Counted>(c =>
            {
                if (--_pending[c.Message] > 0) return;
                _pending.Remove(c.Message);
                window.Release();
            });
        }
    }

    public static async Task<BenchResult> RunAsync(string[] lines)
    {
        var decoder = new EventDecoder();
        var messages = lines.Select(l => CaptureRecord.Parse(l, out _)).Where(r => r is not null)
            .Select(r => decoder.Decode(r!.Body).Events).ToArray();
        var events = messages.Sum(m => (long)m.Count);

        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory\n" + Environment.GetEnvironmentVariable("BENCH_HOCON")));
        try
        {
            var settings = MonitorSettings.FromConfig(system.Settings.Config);
            var sharding = ClusterSharding.Get(system);
            var shardingSettings = ClusterShardingSettings.Create(system);
            var tasks = await sharding.StartAsync("bare-task", _ => Props.Create<Counter>(), shardingSettings, new Extractor(settings.TaskShards));
            var workers = await sharding.StartAsync("bare-worker", _ => Props.Create<Counter>(), shardingSettings, new Extractor(settings.WorkerShards));

            var window = new SemaphoreSlim(settings.IngestWindow, settings.IngestWindow);
            var source = system.ActorOf(Props.Create(() => new Source(window)));
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < messages.Length; i++)
            {
                var batch = messages[i];
                var routed = batch.Count(e => e.Uuid is not null || e.Hostname is not null);
                if (routed == 0) continue;
                await window.WaitAsync();
                source.Tell(new Register(i, routed));
                foreach (var ev in batch)
                {
                    if (ev.Uuid is { } uuid) tasks.Tell(new Count(uuid, i), source);
                    else if (ev.Hostname is { } host) workers.Tell(new Count(host, i), source);
                }
            }
            for (var i = 0; i < settings.IngestWindow; i++) await window.WaitAsync();
            return new BenchResult(events, sw.Elapsed);
        }
        finally
        {
            await system.Terminate();
        }
    }

    private sealed record Register(long Message, int Count);
}
