namespace ActorMonitor.Celery.Events;

/// <summary>
/// One Celery event as a receiver sees it: the keys Celery's receiver and State read are typed,
/// every other key is kept as raw JSON in wire order (State copies whole events onto objects).
/// </summary>
public sealed class CeleryEvent
{
    public CeleryEvent(string type, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        Type = type;
        var dash = type.IndexOf('-');
        // Celery: group, _, subject = type.partition('-')
        Group = dash < 0 ? type : type[..dash];
        Subject = dash < 0 ? string.Empty : type[(dash + 1)..];
        Fields = fields;
    }

    public string Type { get; }
    public string Group { get; }
    public string Subject { get; }
    public string? Hostname { get; init; }
    public string? Uuid { get; init; }
    public double? UtcOffset { get; init; }

    /// <summary>
    /// Hash of the event object's bytes as sent: a redelivered event has the same id, so an
    /// entity recognises an event it already applied.
    /// </summary>
    public ulong Id { get; init; }

    /// <summary>Event time; the receiver rewrites it by the utcoffset rule.</summary>
    public double? Timestamp { get; set; }

    /// <summary>Lamport clock; the receiver assigns it when missing and rewrites it for task-sent.</summary>
    public long? Clock { get; set; }

    /// <summary>Set by the receiver from its injected clock.</summary>
    public double LocalReceived { get; set; }

    /// <summary>Every key but type, hostname, uuid, utcoffset, timestamp and clock, as raw JSON.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    public bool IsTaskEvent => Group == "task";
    public bool IsWorkerEvent => Group == "worker";

    public string? Field(string name) => FieldIn(Fields, name);

    /// <summary>The raw JSON of key <paramref name="name"/> among an event's <paramref name="fields"/>, or null.</summary>
    public static string? FieldIn(IReadOnlyList<KeyValuePair<string, string>> fields, string name)
    {
        // Indexed, not foreach: enumerating the interface would allocate on every lookup.
        for (var i = 0; i < fields.Count; i++)
            if (fields[i].Key == name) return fields[i].Value;
        return null;
    }

    public bool HasField(string name) => Field(name) is not null;
}
