using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.State;

/// <summary>
/// A task event after the receiver rules: the event's keys as raw JSON, in wire order (the
/// Task copies those that are attributes of the state schema).
/// </summary>
public sealed record TaskEvent(
    string Uuid,
    string Subject,
    string Hostname,
    double Timestamp,
    long Clock,
    double LocalReceived,
    IReadOnlyList<KeyValuePair<string, string>> Fields,
    ulong Id = 0)
{
    public bool IsClientEvent => Subject == "sent";

    public string? Field(string name) => CeleryEvent.FieldIn(Fields, name);

    public static TaskEvent From(CeleryEvent ev) =>
        new(ev.Uuid!, ev.Subject, ev.Hostname!, ev.Timestamp!.Value, ev.Clock!.Value, ev.LocalReceived, ev.Fields, ev.Id);
}
