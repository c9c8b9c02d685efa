using System.Diagnostics;
using System.Globalization;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Cluster.Hosting;

namespace ActorMonitor.Bench;

/// <summary>
/// Streams a large capture (read from disk line by line, never held) through a node on a SQLite
/// file with the default live-entity limits, sampling the process's resident memory as it goes:
/// the peak at 10%, 50% and 100% of the capture. Then asks, through the task region, for tasks
/// received in the first 5% of the capture (passivated long ago): latency p50/p99.
/// </summary>
public static class MemoryBench
{
    public static async Task<string> RunAsync(string capturePath)
    {
        var db = Path.Combine(Path.GetTempPath(), "actormonitor-bench-memory.db");
        foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.Delete(f);
        var totalLines = await CountLinesAsync(capturePath);
        var config = MonitorConfig.With(
            $"actormonitor.receiver.utcoffset = 0\nactormonitor.journal = \"sqlite:{db}\"\n" + Environment.GetEnvironmentVariable("BENCH_HOCON"));
        // As `run` sets it for its node (actormonitor.memory.gc-heap-limit).
        var heapLimit = ActorMonitor.Host.ManagedHeap.Apply(config);
        Console.Error.WriteLine($"memory: managed heap limit {ActorMonitor.Host.ManagedHeap.Describe(heapLimit)}");
        var system = await MonitorSystem.StartAsync(config);
        try
        {
            var node = await MonitorNode.StartAsync(system);
            var peak = 0L;
            var sw = Stopwatch.StartNew();
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                var me = Process.GetCurrentProcess();
                while (!sampling.IsCancellationRequested)
                {
                    me.Refresh();
                    var rss = me.WorkingSet64;
                    // A new peak: what it was made of (managed heap as allocated, GC committed, the rest).
                    if (rss > Interlocked.Read(ref peak) + 4 * 1048576 && Environment.GetEnvironmentVariable("BENCH_TRACE_PEAKS") is not null)
                        Console.Error.WriteLine($"memory: new peak {rss / 1048576} MB at {sw.Elapsed.TotalSeconds:F1} s: heap {GC.GetTotalMemory(false) / 1048576} MB, " +
                            $"GC committed {GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576} MB, gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, {ResidentParts()}");
                    Interlocked.Exchange(ref peak, Math.Max(Interlocked.Read(ref peak), rss));
                    await Task.Delay(100);
                }
            });

            var decoder = node.CreateDecoder();
            var oldTasks = new List<string>();
            var recentTasks = new Queue<string>(); // the last received: live entities, the baseline
            var marks = new Dictionary<int, (long Tasks, long PeakMb, long HeapMb)>();
            long line = 0, events = 0, received = 0;
            sw.Restart();
            await using (var ingest = node.CreateIngestClient())
            {
                using var file = File.OpenRead(capturePath);
                var reader = new Utf8LineReader(file);
                while (await reader.ReadLineAsync() is { } bytes)
                {
                    if (bytes.Length == 0) continue;
                    line++;
                    var record = CaptureRecord.Parse(bytes.Span, out _);
                    if (record is null) continue;
                    var decoded = decoder.Decode(record.Body);
                    events += decoded.Events.Count;
                    if (line < totalLines / 20 && oldTasks.Count < 2000)
                        oldTasks.AddRange(decoded.Events.Where(e => e.Type == "task-received").Select(e => e.Uuid!));
                    foreach (var e in decoded.Events.Where(e => e.Type == "task-received"))
                    {
                        received++;
                        recentTasks.Enqueue(e.Uuid!);
                        if (recentTasks.Count > 1000) recentTasks.Dequeue();
                    }
                    await ingest.SendAsync(record.RoutingKey, decoded, record.LocalReceived);
                    foreach (var pct in new[] { 10, 50, 100 })
                        if (line == totalLines * pct / 100)
                        {
                            // Read without disturbing the run: no pause to drain the node, no forced
                            // collection (each was followed by a burst that made the next peak). The
                            // tasks are those whose task-received was handed to the node; the heap is
                            // what the last background collection kept.
                            var lastBackground = GC.GetGCMemoryInfo(GCKind.Background);
                            marks[pct] = (received, Interlocked.Read(ref peak) / 1048576, (lastBackground.HeapSizeBytes - lastBackground.FragmentedBytes) / 1048576);
                            Console.Error.WriteLine($"memory: {pct}% of the capture, {received} tasks, peak RSS so far {marks[pct].PeakMb} MB, managed heap after the last background GC {marks[pct].HeapMb} MB, " +
                                $"GC committed {GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576} MB, allocated so far {GC.GetTotalAllocatedBytes() / 1048576} MB, gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, {Process.GetCurrentProcess().Threads.Count} threads, " +
                                $"SQLite {SQLitePCL.raw.sqlite3_memory_used() / 1048576} MB (high {SQLitePCL.raw.sqlite3_memory_highwater(0) / 1048576} MB), {ResidentParts()}");
                        }
                }
                await ingest.WhenAllAppliedAsync();
            }
            await node.Queries.DrainAsync(TimeSpan.FromMinutes(5));
            await node.Queries.CheckpointAsync(TimeSpan.FromMinutes(5));
            var elapsed = sw.Elapsed;
            sampling.Cancel();
            await sampler;
            // What the process really keeps: the managed heap after a full collection, once the peaks are taken.
            var heapAtEnd = GC.GetTotalMemory(forceFullCollection: true) / 1048576;
            var keeper = await node.Queries.KeeperStatsAsync();

            // Baseline: the same query for tasks still live in memory; then for tasks passivated long ago.
            var live = await QueryAsync(node, recentTasks);
            var loadedBefore = keeper.RowsLoaded;
            var latencies = await QueryAsync(node, oldTasks.Take(1000));
            var loadedByQueries = (await node.Queries.KeeperStatsAsync()).RowsLoaded - loadedBefore;
            double Pct(List<double> l, double p) => l[(int)Math.Min(l.Count - 1, Math.Ceiling(p * l.Count) - 1)];
            return string.Create(CultureInfo.InvariantCulture,
                $"memory events={events} seconds={elapsed.TotalSeconds:F3} events_per_s={events / elapsed.TotalSeconds:F0} " +
                $"tasks_10={marks[10].Tasks} rss_mb_10={marks[10].PeakMb} heap_mb_10={marks[10].HeapMb} tasks_50={marks[50].Tasks} rss_mb_50={marks[50].PeakMb} heap_mb_50={marks[50].HeapMb} " +
                $"tasks_100={marks[100].Tasks} rss_mb_100={marks[100].PeakMb} heap_mb_100={marks[100].HeapMb} heap_mb_end_full_gc={heapAtEnd} heap_limit_mb={(heapLimit ?? 0) >> 20} live_tasks={keeper.LiveTasks} passivations={keeper.Passivations} " +
                $"evicted_queries={latencies.Count} rows_loaded_by_queries={loadedByQueries} evicted_p50_ms={Pct(latencies, 0.5):F3} evicted_p99_ms={Pct(latencies, 0.99):F3} live_p50_ms={Pct(live, 0.5):F3} live_p99_ms={Pct(live, 0.99):F3} db_mb={new FileInfo(db).Length / 1048576}");
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>
    /// Non-empty lines, counted on bytes: reading a capture of a million tasks as strings first
    /// allocated several GB before the run began, and the GC entered the run shaped by that.
    /// </summary>
    private static async Task<long> CountLinesAsync(string path)
    {
        using var file = File.OpenRead(path);
        var reader = new Utf8LineReader(file);
        long n = 0;
        while (await reader.ReadLineAsync() is { } line)
            if (line.Length > 0) n++;
        return n;
    }

    /// <summary>Resident memory by kind (anonymous, file-backed, shared), from /proc/self/status.</summary>
    private static string ResidentParts() =>
        string.Join(", ", File.ReadLines("/proc/self/status").Where(l => l.StartsWith("RssAnon") || l.StartsWith("RssFile") || l.StartsWith("RssShmem"))
            .Select(l => string.Join(' ', l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))));

    private static async Task<List<double>> QueryAsync(MonitorNode node, IEnumerable<string> uuids)
    {
        var latencies = new List<double>();
        foreach (var uuid in uuids)
        {
            var q = Stopwatch.StartNew();
            _ = await node.Queries.TaskAsync(uuid) ?? throw new InvalidOperationException($"task {uuid} was forgotten");
            latencies.Add(q.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        return latencies;
    }
}
