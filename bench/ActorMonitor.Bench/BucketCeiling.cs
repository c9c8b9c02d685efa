using System.Diagnostics;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Client;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Receiver;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Store;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Bench;

/// <summary>
/// bucket-ceiling / entity-ceiling: how fast a lone node could replay if a task entity were a bucket
/// of tasks (one per task shard), against the same pipeline with an entity per task (as the product
/// has it). Both take the capture lines as replay does (parsed and decoded on the feeding thread,
/// inside the timing); one receiver actor applies Celery's receiver rules, tells the index each
/// message's entries and each entity the message's events (the task events of one bucket in one
/// message, a worker's events in one); the sharded entities apply them with the product's
/// <see cref="TaskRecord"/> and <see cref="WorkerRecord"/> (dedup ids included) and answer the
/// receiver, which frees the message's window slot when all have answered; every 4,000 messages
/// each bucket (or task entity) builds the rows of its changed tasks, as a checkpoint does.
/// Left out, so both are ceilings: the keeper (answers pass through it in the product), row loads,
/// the memory bound, metrics, checkpoints and the store. A measurement for a design decision.
/// </summary>
public static class BucketCeiling
{
    private const int MessagesPerCheckpoint = 4000;

    private sealed record Ingest(IReadOnlyList<CeleryEvent> Events, double LocalReceived);
    private sealed record TaskBatch(string Bucket, long Message, List<(TaskEvent Event, long Seq)> Events);
    private sealed record WorkerBatch(string Hostname, long Message, List<WorkerEvent> Events);
    private sealed record Done(long Message);
    private sealed record Collect(string Bucket);
    private sealed record Rows(int Count);
    private sealed record IndexBatch(List<IndexEntry> Entries);

    private sealed class Extractor(int shards) : HashCodeMessageExtractor(shards)
    {
        public override string? EntityId(object message) => message switch
        {
            TaskBatch t => t.Bucket,
            Collect c => c.Bucket,
            WorkerBatch w => w.Hostname,
            _ => null,
        };
    }

    private sealed class Bucket : ReceiveActor
    {
        private readonly Dictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
        private readonly HashSet<TaskRecord> _changed = new(ReferenceEqualityComparer.Instance);

        public Bucket(IActorRef rows)
        {
            Receive<TaskBatch>(b =>
            {
                foreach (var (ev, seq) in b.Events)
                {
                    if (!_tasks.TryGetValue(ev.Uuid, out var record)) _tasks[ev.Uuid] = record = new TaskRecord(ev.Uuid);
                    if (record.Apply(ev, seq)) _changed.Add(record);
                }
                Sender.Tell(new Done(b.Message));
            });
            Receive<Collect>(_ =>
            {
                var built = 0;
                foreach (var record in _changed) built += StoredRows.TaskRow(record).Data.Length > 0 ? 1 : 0;
                _changed.Clear();
                rows.Tell(new Rows(built));
            });
        }
    }

    private sealed class Worker : ReceiveActor
    {
        private WorkerRecord? _record;

        public Worker()
        {
            Receive<WorkerBatch>(b =>
            {
                _record ??= new WorkerRecord(b.Hostname);
                foreach (var ev in b.Events) _record.Apply(ev, out _);
                Sender.Tell(new Done(b.Message));
            });
        }
    }

    private sealed class Index : ReceiveActor
    {
        private readonly EventIndex _index = new();
        public Index() => Receive<IndexBatch>(b => { foreach (var e in b.Entries) _index.Apply(e); });
    }

    private sealed class RowCount : ReceiveActor
    {
        private long _rows;
        public RowCount() => Receive<Rows>(r => _rows += r.Count);
    }

    private sealed class Receiver : ReceiveActor
    {
        private readonly ReceiverRules _rules = new(() => 0);
        private readonly TaskMessageExtractor _shards;
        private readonly bool _perTask;
        private readonly IActorRef _bucketRegion, _workerRegion, _index;
        private readonly SemaphoreSlim _window;
        private readonly HashSet<string> _touched = new(StringComparer.Ordinal);
        // Answers still awaited per message; its window slot is freed when none is.
        private readonly Dictionary<long, int> _awaited = new();
        private int _sinceCheckpoint;
        private long _message, _seq;

        public Receiver(int buckets, bool perTask, IActorRef bucketRegion, IActorRef workerRegion, IActorRef index, SemaphoreSlim window)
        {
            (_shards, _perTask, _bucketRegion, _workerRegion, _index, _window) = (new TaskMessageExtractor(buckets), perTask, bucketRegion, workerRegion, index, window);
            Receive<Ingest>(OnIngest);
            Receive<Done>(d =>
            {
                if (--_awaited[d.Message] > 0) return;
                _awaited.Remove(d.Message);
                _window.Release();
            });
        }

        /// <summary>The message's task events go to their buckets (one batch per bucket), its worker events to their workers.</summary>
        private void OnIngest(Ingest m)
        {
            var byBucket = new Dictionary<string, List<(TaskEvent, long)>>(StringComparer.Ordinal);
            var byWorker = new Dictionary<string, List<WorkerEvent>>(StringComparer.Ordinal);
            var entries = new List<IndexEntry>(m.Events.Count);
            foreach (var ev in m.Events)
            {
                _rules.Apply(ev, m.LocalReceived);
                entries.Add(IndexEntry.From(ev));
                if (ev.IsTaskEvent)
                {
                    var bucket = _perTask ? ev.Uuid! : _shards.ShardOf(ev.Uuid!);
                    if (!byBucket.TryGetValue(bucket, out var list)) byBucket[bucket] = list = [];
                    list.Add((TaskEvent.From(ev), ++_seq));
                    _touched.Add(bucket);
                    if (ev.Subject != "sent") ToWorker(byWorker, ev.Hostname!, WorkerEvent.TaskHeartbeat(ev));
                }
                else if (ev.IsWorkerEvent) ToWorker(byWorker, ev.Hostname!, WorkerEvent.From(ev));
            }

            var id = ++_message;
            foreach (var (bucket, events) in byBucket) _bucketRegion.Tell(new TaskBatch(bucket, id, events));
            foreach (var (host, events) in byWorker) _workerRegion.Tell(new WorkerBatch(host, id, events));
            if (entries.Count > 0) _index.Tell(new IndexBatch(entries));
            var answers = byBucket.Count + byWorker.Count;
            if (answers == 0) _window.Release();
            else _awaited[id] = answers;

            if (++_sinceCheckpoint < MessagesPerCheckpoint) return;
            foreach (var bucket in _touched) _bucketRegion.Tell(new Collect(bucket));
            _touched.Clear();
            _sinceCheckpoint = 0;
        }

        private static void ToWorker(Dictionary<string, List<WorkerEvent>> byWorker, string hostname, WorkerEvent ev)
        {
            if (!byWorker.TryGetValue(hostname, out var list)) byWorker[hostname] = list = [];
            list.Add(ev);
        }
    }

    /// <param name="perTask">An entity per task (as the product has now) instead of a bucket per shard: the same pipeline otherwise.</param>
    public static async Task<BenchResult> RunAsync(byte[] capture, bool perTask)
    {
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory\n" + Environment.GetEnvironmentVariable("BENCH_HOCON")));
        try
        {
            var settings = MonitorSettings.FromConfig(system.Settings.Config);
            var sharding = ClusterSharding.Get(system);
            var shardingSettings = ClusterShardingSettings.Create(system);
            var rows = system.ActorOf(Props.Create<RowCount>());
            var buckets = await sharding.StartAsync("bucket-task", _ => Props.Create(() => new Bucket(rows)), shardingSettings, new Extractor(settings.TaskShards));
            var workers = await sharding.StartAsync("bucket-worker", _ => Props.Create<Worker>(), shardingSettings, new Extractor(settings.WorkerShards));
            var index = system.ActorOf(Props.Create<Index>());
            var window = new SemaphoreSlim(settings.IngestWindow, settings.IngestWindow);
            var receiver = system.ActorOf(Props.Create(() => new Receiver(settings.TaskShards, perTask, buckets, workers, index, window)));

            var decoder = new EventDecoder();
            long events = 0;
            double localReceived = 0;
            var sw = Stopwatch.StartNew();
            using (var reader = new MemoryStream(capture, writable: false))
            {
                var lines = new Utf8LineReader(reader);
                while (await lines.ReadLineAsync(CancellationToken.None) is { } line)
                {
                    if (line.Span.Trim(" \t\r"u8).IsEmpty) continue;
                    var record = CaptureRecord.Parse(line.Span, out _);
                    if (record is null) continue;
                    localReceived = record.LocalReceived ?? localReceived;
                    var decoded = decoder.Decode(record.Body);
                    events += decoded.Events.Count;
                    await window.WaitAsync();
                    receiver.Tell(new Ingest(decoded.Events, localReceived));
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
}
