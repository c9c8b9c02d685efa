using ActorMonitor.Celery.Durable;
using ActorMonitor.Store;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>An entity's record as the row it hands the keeper for a checkpoint cycle.</summary>
public static class EntityRows
{
    // The names copied: the row goes to the keeper's thread while the entity may add a name.
    public static EntityRow Task(TaskRecord r, long cycleId) =>
        new(EntityKind.Task, r.Uuid, cycleId, StoredRows.TaskRow(r), null, r.Names.Count == 0 ? [] : [.. r.Names]);

    public static EntityRow Worker(WorkerRecord r, long cycleId) =>
        new(EntityKind.Worker, r.Hostname, cycleId, null, StoredRows.WorkerRow(r), []);
}
