using System.Diagnostics;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;
using ActorMonitor.Store;
using ActorMonitor.Store.Sql;

namespace ActorMonitor.Bench;

/// <summary>
/// The store's write path alone, without broker or actors: every task of the capture, in its
/// final state, committed to a fresh SQLite file in batches of 4,000 rows, as checkpoints
/// write them. "store" marks the rows new, as a first checkpoint does; "store-read" makes the
/// store look each one up first. Figures: rows/s (the line's events are rows).
/// </summary>
public static class StoreCommitBench
{
    public static BenchResult Run(string mode, string[] lines)
    {
        var decoder = new EventDecoder();
        var records = new Dictionary<string, TaskRecord>(StringComparer.Ordinal);
        long seq = 0;
        foreach (var line in lines)
        {
            var record = CaptureRecord.Parse(line, out _);
            if (record is null) continue;
            foreach (var ev in decoder.Decode(record.Body).Events)
            {
                if (!ev.IsTaskEvent) continue;
                if (!records.TryGetValue(ev.Uuid!, out var r)) records[ev.Uuid!] = r = new TaskRecord(ev.Uuid!);
                r.Apply(TaskEvent.From(ev), ++seq);
            }
        }
        var fresh = mode == "store";
        var rows = records.Values.Select(r => StoredRows.TaskRow(r) with { New = fresh }).ToList();
        var file = Path.Combine(Path.GetTempPath(), "actormonitor-bench-store.db");
        foreach (var f in new[] { file, file + "-wal", file + "-shm" }) File.Delete(f);
        using var store = new SqlStateStore(StoreTarget.Parse("sqlite:" + file));
        store.Initialize();
        var sw = Stopwatch.StartNew();
        foreach (var batch in rows.Chunk(4000)) store.Commit(new StoreCommit(batch, [], []));
        return new BenchResult(rows.Count, sw.Elapsed);
    }
}
