using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.State;

/// <summary>What the cluster-wide index needs of one accepted event (not its payload).</summary>
public sealed record IndexEntry(
    string Group,
    string Subject,
    string? Hostname,
    string? Uuid,
    long Clock,
    double Timestamp,
    string? TaskName,
    string? Pid)
{
    public static IndexEntry From(CeleryEvent ev) => new(
        ev.Group, ev.Subject, ev.Hostname, ev.Uuid, ev.Clock ?? 0, ev.Timestamp ?? 0,
        ev.IsTaskEvent ? RawJson.AsString(ev.Field("name")) : null,
        ev.IsWorkerEvent ? ev.Field("pid") : null);
}
