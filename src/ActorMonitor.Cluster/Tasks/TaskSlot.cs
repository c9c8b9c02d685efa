using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using Akka.Actor;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>
/// One task in its bucket: the record once its row is loaded, what waits for the row, and whether
/// the record changed since its row was last handed to the keeper.
/// </summary>
internal sealed class TaskSlot(string uuid)
{
    public string Uuid { get; } = uuid;

    /// <summary>Null while the row is loading.</summary>
    public TaskRecord? Record { get; private set; }

    /// <summary>Messages that came while the row loads, with their senders, in arrival order.</summary>
    public List<(object Message, IActorRef Sender)>? Waiting;

    /// <summary>Changed since the row was last handed over.</summary>
    public bool Dirty { get; private set; }

    /// <summary>The queue named by the task-sent event (a metrics label, not in the row).</summary>
    public string? Queue;

    /// <summary>Asked for while unknown: let go once what waited with the query is applied, unless that made it a task.</summary>
    public bool AskedUnknown;

    // Changed from clean to dirty, and the keeper not told yet.
    private bool _unannounced;
    // Loaded as absent, and no row handed over since: the next row is the task's first.
    private bool _neverStored;

    public void Load(byte[]? row)
    {
        Record = row is null ? new TaskRecord(Uuid) : TaskRecord.FromRow(Uuid, row);
        _neverStored = row is null;
    }

    /// <summary>The record changed: the keeper hears it once per change from clean to dirty.</summary>
    public void Changed()
    {
        if (!Dirty) _unannounced = true;
        Dirty = true;
    }

    /// <summary>Whether the keeper must hear of a change now; it is told at most once per change.</summary>
    public bool TakeUnannounced()
    {
        var unannounced = _unannounced;
        _unannounced = false;
        return unannounced;
    }

    /// <summary>The row for the keeper (a checkpoint's, or the last before the task leaves memory); the slot is clean after it.</summary>
    public EntityRow HandOver(long cycleId)
    {
        var row = EntityRows.Task(Record!, cycleId);
        if (_neverStored && row.Task is { } task) row = row with { Task = task with { New = true } };
        _neverStored = false;
        Dirty = false;
        return row;
    }
}
