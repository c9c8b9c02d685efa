using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Store;

/// <summary>Builds the rows the store writes from an entity's record.</summary>
public static class StoredRows
{
    public static TaskRow TaskRow(TaskRecord r)
    {
        var s = r.State;
        // The task's place in Celery's heap: its mark with the highest (clock, origin); the marks are
        // few (at most TaskRecord.MaxMarks), and clocks only grow per sender, so the recent ones hold it.
        long heapClock = 0;
        string? heapOrigin = null;
        foreach (var m in r.Marks)
            if (m.Clock > heapClock || m.Clock == heapClock && string.CompareOrdinal(m.Hostname, heapOrigin) >= 0)
                (heapClock, heapOrigin) = (m.Clock, m.Hostname);
        return new TaskRow(r.Uuid, r.ToRow(), r.LastSeq, r.EventCount, r.ReceivedCount, s.Name, s.State, s.Worker,
            RawJson.AsNumber(s["received"]), RawJson.AsNumber(s["started"]), RawJson.AsNumber(s["succeeded"]),
            RawJson.AsNumber(s["failed"]), RawJson.AsNumber(s["timestamp"]), RawJson.AsNumber(s["runtime"]),
            Text(s["args"]), Text(s["kwargs"]), Text(s["result"]), Text(s["exception"]), heapClock, heapOrigin);
    }

    public static WorkerRow WorkerRow(WorkerRecord r) => new(r.Hostname, r.ToRow(), r.EventCount);

    /// <summary>The text Celery sent: a JSON string decoded (args, kwargs, result and exception are reprs), any other value as JSON.</summary>
    public static string? Text(string? raw) => raw is null or RawJson.Null ? null : RawJson.AsString(raw) ?? raw;
}
