using System.Globalization;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.Output;

/// <summary>
/// One line per event in the format of Celery's <c>celery events --dump</c> (events/dumper.py,
/// 5.2.6): <c>hostname [utc time] human type: fields</c>, task events named from the
/// task-sent/received seen before. The event must have been through the receiver rules.
/// </summary>
public sealed class EventDumper
{
    private const int TaskNamesMax = 4095;
    private static readonly Dictionary<string, string> HumanTypes = new()
    {
        ["worker-offline"] = "shutdown", ["worker-online"] = "started", ["worker-heartbeat"] = "heartbeat",
    };

    private readonly Dictionary<string, string> _taskNames = new(StringComparer.Ordinal);
    private readonly Queue<string> _taskNameOrder = new();

    public string Format(CeleryEvent ev)
    {
        var type = ev.Type.ToLowerInvariant();
        var timestamp = UtcText(ev.Timestamp ?? 0);
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in ev.Fields) fields[kv.Key] = RawJson.PythonStr(kv.Value);
        if (ev.UtcOffset is { } off) fields["utcoffset"] = PythonNumber(off);
        if (ev.Clock is { } clock) fields["clock"] = clock.ToString(CultureInfo.InvariantCulture);
        fields["local_received"] = RawJson.PythonFloatRepr(ev.LocalReceived);

        string? task = null;
        if (type.StartsWith("task-", StringComparison.Ordinal))
        {
            var uuid = ev.Uuid ?? "";
            if (type is "task-received" or "task-sent")
            {
                task = $"{Pop(fields, "name")}({uuid}) args={Pop(fields, "args")} kwargs={Pop(fields, "kwargs")}";
                Remember(uuid, task);
            }
            else
            {
                task = _taskNames.GetValueOrDefault(uuid, "");
            }
        }
        else if (ev.Uuid is { } u)
        {
            fields["uuid"] = u;
        }

        var text = string.Join(", ", fields.Select(kv => kv.Key + "=" + kv.Value));
        var sep = text.Length > 0 ? ":" : "";
        var head = $"{ev.Hostname} [{timestamp}] {Humanize(type)}{sep}";
        return task is null ? $"{head} {text}" : $"{head} {task} {text}";
    }

    private static string Pop(SortedDictionary<string, string> fields, string key) =>
        fields.Remove(key, out var v) ? v : "None";

    private void Remember(string uuid, string task)
    {
        if (!_taskNames.ContainsKey(uuid))
        {
            _taskNameOrder.Enqueue(uuid);
            if (_taskNameOrder.Count > TaskNamesMax) _taskNames.Remove(_taskNameOrder.Dequeue());
        }
        _taskNames[uuid] = task;
    }

    private static string Humanize(string type) =>
        HumanTypes.TryGetValue(type, out var h) ? h : type.Replace('-', ' ');

    private static string PythonNumber(double d) =>
        d == Math.Floor(d) && Math.Abs(d) < 1e15 ? ((long)d).ToString(CultureInfo.InvariantCulture) : RawJson.PythonFloatRepr(d);

    /// <summary>str(datetime.utcfromtimestamp(ts)): microseconds rounded, omitted when zero.</summary>
    public static string UtcText(double timestamp)
    {
        // As CPython: frac, t = modf(t); us = round(frac * 1e6), carried into the seconds.
        var seconds = Math.Truncate(timestamp);
        var us = (long)Math.Round((timestamp - seconds) * 1e6, MidpointRounding.ToEven);
        if (us >= 1_000_000) { seconds += 1; us -= 1_000_000; }
        else if (us < 0) { seconds -= 1; us += 1_000_000; }
        var dt = DateTime.UnixEpoch.AddSeconds(seconds).AddTicks(us * 10);
        return dt.ToString(us == 0 ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
    }
}
