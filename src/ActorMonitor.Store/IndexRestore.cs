using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Store;

/// <summary>Rebuilds a node's <see cref="EventIndex"/> from the stored rows after a restart.</summary>
public static class IndexRestore
{
    /// <param name="otherEvents">Accepted events of no task or worker, from the receiver's checkpoint; null: every receiver's, as stored.</param>
    public static EventIndex Read(IStateStore store, int maxTimelineEntries, long? otherEvents, out StoredTotals totals)
    {
        totals = store.ReadTotals();
        var index = new EventIndex(maxTimelineEntries);
        var workers = store.AllWorkers()
            .Select(kv => WorkerRecord.FromRow(kv.Key, kv.Value))
            .Where(w => w.State.Exists)
            .Select(w => (w.Hostname, w.State["pid"]))
            .ToList();
        // Every task holds at least one mark, so the latest N tasks hold the latest N marks.
        var marks = store.LatestTasks(maxTimelineEntries)
            .SelectMany(kv => TaskRecord.FromRow(kv.Key, kv.Value).Marks.Select(m => (Mark: m, Uuid: kv.Key)))
            .OrderBy(x => x.Mark.Seq)
            .ToList();
        if (marks.Count > maxTimelineEntries) marks.RemoveRange(0, marks.Count - maxTimelineEntries);
        index.Restore(totals.TaskEvents + totals.WorkerEvents + (otherEvents ?? totals.OtherEvents), totals.TaskCount, totals.TaskTypes, workers, marks);
        return index;
    }
}
