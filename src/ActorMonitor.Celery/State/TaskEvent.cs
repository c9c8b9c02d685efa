using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.State;

/// <summary>
/// A task event after the receiver rules, reduced to what Celery's Task keeps: the keys of the
/// whole event that land on a Task attribute of the state schema (raw JSON, wire order).
/// </summary>
public sealed record TaskEvent(
    string Uuid,
    string Subject,
    string Hostname,
    double Timestamp,
    long Clock,
    double LocalReceived,
    IReadOnlyList<KeyValuePair<string, string>> Fields)
{
    public bool IsClientEvent => Subject == "sent";

    public string? Field(string name)
    {
        foreach (var kv in Fields)
            if (kv.Key == name) return kv.Value;
        return null;
    }

    public static TaskEvent From(CeleryEvent ev)
    {
        var fields = new List<KeyValuePair<string, string>>(ev.Fields.Count);
        foreach (var kv in ev.Fields)
            if (TaskState.IsCopiedField(kv.Key)) fields.Add(kv);
        return new TaskEvent(ev.Uuid!, ev.Subject, ev.Hostname!, ev.Timestamp!.Value, ev.Clock!.Value, ev.LocalReceived, fields);
    }
}
