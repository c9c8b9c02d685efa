using ActorMonitor.Celery.Receiver;

namespace ActorMonitor.Celery.Dispatch;

/// <summary>
/// Celery's Event(): the fields a dispatcher stamps, in its key order —
/// hostname, utcoffset, pid, clock, the caller's fields in call order, timestamp, type
/// (a caller's own timestamp keeps its position).
/// </summary>
public static class EventFactory
{
    private static readonly HashSet<string> Stamped = ["hostname", "utcoffset", "pid", "clock"];

    public static List<KeyValuePair<string, object?>> Create(
        string type, string hostname, long utcoffset, int pid, long? clock,
        IEnumerable<KeyValuePair<string, object?>> fields, Func<double> now)
    {
        var ev = new List<KeyValuePair<string, object?>>
        {
            new("hostname", hostname), new("utcoffset", utcoffset), new("pid", pid), new("clock", clock),
        };
        var hasTimestamp = false;
        foreach (var f in fields)
        {
            // In Python, passing one of these twice is a TypeError.
            if (Stamped.Contains(f.Key) || f.Key == "type") throw new ArgumentException($"'{f.Key}' is set by the dispatcher");
            hasTimestamp |= f.Key == "timestamp";
            ev.Add(f);
        }
        if (!hasTimestamp) ev.Add(new("timestamp", now()));
        ev.Add(new("type", type));
        return ev;
    }

    /// <summary>Celery's routing key: the type with every '-' replaced by '.'.</summary>
    public static string RoutingKey(string type) => type.Replace('-', '.');

    /// <summary>group_from(type): the text before the first '-'.</summary>
    public static string GroupOf(string type)
    {
        var dash = type.IndexOf('-');
        return dash < 0 ? type : type[..dash];
    }

    public static long LocalUtcOffset() => UtcOffset.Local(DateTimeOffset.UtcNow);
}
