using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.State;

/// <summary>
/// What a Worker receives: either a worker-* event (fields copied onto the Worker) or a task
/// event counted as a heartbeat (Celery calls worker.event(None, local_received, timestamp),
/// arguments swapped, no fields).
/// </summary>
public sealed record WorkerEvent(
    string Subject,
    double Timestamp,
    double LocalReceived,
    IReadOnlyList<KeyValuePair<string, string>> Fields,
    bool IsTaskHeartbeat = false,
    ulong Id = 0)
{
    public static WorkerEvent From(CeleryEvent ev)
    {
        var fields = new List<KeyValuePair<string, string>>(ev.Fields.Count + 2)
        {
            new("hostname", RawJson.String(ev.Hostname!)),
            new("clock", RawJson.Number(ev.Clock!.Value)),
        };
        foreach (var kv in ev.Fields)
            if (WorkerState.IsCopiedField(kv.Key)) fields.Add(kv);
        return new WorkerEvent(ev.Subject, ev.Timestamp!.Value, ev.LocalReceived, fields, Id: ev.Id);
    }

    /// <summary>A non-client task event as a heartbeat of the worker that sent it.</summary>
    public static WorkerEvent TaskHeartbeat(CeleryEvent ev) =>
        new(ev.Subject, ev.Timestamp!.Value, ev.LocalReceived, [], IsTaskHeartbeat: true, Id: ev.Id);
}
