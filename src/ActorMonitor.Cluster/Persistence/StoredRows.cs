using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>Builds the rows the store writes from an entity's record.</summary>
public static class StoredRows
{
    public static EntityRow Task(TaskRecord r, long cycleId)
    {
        var s = r.State;
        var row = new TaskRow(r.Uuid, r.ToRow(), r.LastSeq, r.EventCount, r.ReceivedCount, s.Name, s.State, s.Worker,
            RawJson.AsNumber(s["received"]), RawJson.AsNumber(s["started"]), RawJson.AsNumber(s["succeeded"]),
            RawJson.AsNumber(s["failed"]), RawJson.AsNumber(s["timestamp"]));
        return new EntityRow(EntityKind.Task, r.Uuid, cycleId, row, null, r.Names);
    }

    public static EntityRow Worker(WorkerRecord r, long cycleId) =>
        new(EntityKind.Worker, r.Hostname, cycleId, null, new WorkerRow(r.Hostname, r.ToRow(), r.EventCount), []);
}
