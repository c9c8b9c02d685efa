using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Durable;

/// <summary>
/// Everything a worker entity keeps, as one storable row: Celery's <see cref="WorkerState"/>, the
/// ids of recent events (worker-* events and the task events counted as its heartbeats), and the
/// number of worker-* events applied (its share of event_count).
/// </summary>
public sealed class WorkerRecord
{
    public const int IdWindow = 8192;

    private readonly RecentIds _applied = new(IdWindow);

    public WorkerRecord(string hostname) : this(new WorkerState(hostname)) { }

    private WorkerRecord(WorkerState state) => State = state;

    public WorkerState State { get; }
    public string Hostname => State.Hostname;

    /// <summary>worker-* events applied (task events that only count as heartbeats are counted by their task).</summary>
    public long EventCount { get; private set; }

    /// <summary>
    /// Applies the event unless it was applied before. Returns false for a duplicate; a drift
    /// warning, the first time this worker drifts, goes to <paramref name="drift"/>.
    /// </summary>
    public bool Apply(WorkerEvent ev, out DriftWarning? drift)
    {
        drift = null;
        if (!_applied.Add(ev.Id)) return false;
        drift = State.Apply(ev);
        if (!ev.IsTaskHeartbeat) EventCount++;
        return true;
    }

    public byte[] ToRow() => RowFormat.Write(w =>
    {
        State.Write(w);
        _applied.Write(w);
        w.Write(EventCount);
        w.Write(State.NewestTimestamp);
    });

    public static WorkerRecord FromRow(string hostname, byte[] row) => RowFormat.Read(row, r =>
    {
        var rec = new WorkerRecord(WorkerState.Read(hostname, r));
        rec._applied.Read(r);
        rec.EventCount = r.ReadInt64();
        // Rows written before the field was kept end here.
        if (r.BaseStream.Position < r.BaseStream.Length) rec.State.NewestTimestamp = r.ReadDouble();
        return rec;
    });
}
