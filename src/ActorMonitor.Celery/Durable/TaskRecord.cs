using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Durable;

/// <summary>
/// Everything a task entity keeps, as one storable row: Celery's <see cref="TaskState"/>, the ids
/// of the events it applied (so a redelivered event is recognised), its share of the
/// cluster-wide counters (so event_count and task_count after a restart are the sums over rows
/// and never count a redelivery), and its recent task-heap marks.
/// </summary>
public sealed class TaskRecord
{
    public const int IdWindow = 4096;
    public const int MaxMarks = 64;

    private readonly RecentIds _applied = new(IdWindow);
    private readonly List<TimelineMark> _marks = [];
    private SortedSet<string>? _names;
    private HashSet<string>? _parentsTold;

    public TaskRecord(string uuid) : this(new TaskState(uuid)) { }

    private TaskRecord(TaskState state) => State = state;

    public TaskState State { get; }
    public string Uuid => State.Uuid;

    /// <summary>Events applied (each counts once in event_count).</summary>
    public long EventCount { get; private set; }

    /// <summary>task-received events applied (task_count).</summary>
    public long ReceivedCount { get; private set; }

    /// <summary>Receiver arrival order of the last event applied.</summary>
    public long LastSeq { get; private set; }

    public IReadOnlyList<TimelineMark> Marks => _marks;
    public IReadOnlyCollection<string> Names => (IReadOnlyCollection<string>?)_names ?? [];

    /// <summary>Applies the event unless it was applied before; false for a duplicate.</summary>
    public bool Apply(TaskEvent ev, long seq)
    {
        if (!_applied.Add(ev.Id)) return false;
        State.Apply(ev);
        EventCount++;
        if (ev.Subject == "received") ReceivedCount++;
        if (RawJsonName(ev) is { } name) (_names ??= new SortedSet<string>(StringComparer.Ordinal)).Add(name);
        if (_marks.Count == MaxMarks) _marks.RemoveAt(0);
        _marks.Add(new TimelineMark(ev.Clock, ev.Timestamp, ev.Hostname, ev.IsClientEvent, seq));
        LastSeq = Math.Max(LastSeq, seq);
        return true;
    }

    /// <summary>The event's task name; the state's decoded one when the state holds that very value (no new string per event).</summary>
    private string? RawJsonName(TaskEvent ev) =>
        ev.Field("name") is { } raw && ReferenceEquals(raw, State["name"]) ? State.Name : Events.RawJson.AsString(ev.Field("name"));

    /// <summary>True the first time this task is told to link to <paramref name="parent"/>.</summary>
    public bool FirstLinkTo(string parent) => (_parentsTold ??= new HashSet<string>(StringComparer.Ordinal)).Add(parent);

    public byte[] ToRow() => RowFormat.Write(w =>
    {
        State.Write(w);
        _applied.Write(w);
        w.Write(EventCount);
        w.Write(ReceivedCount);
        w.Write(LastSeq);
        w.Write(_marks.Count);
        foreach (var m in _marks)
        {
            w.Write(m.Clock);
            w.Write(m.Timestamp);
            w.Write(m.Hostname);
            w.Write(m.IsClientEvent);
            w.Write(m.Seq);
        }
        WriteSet(w, _names);
        WriteSet(w, _parentsTold);
    });

    public static TaskRecord FromRow(string uuid, byte[] row) => RowFormat.Read(row, r =>
    {
        var t = new TaskRecord(TaskState.Read(uuid, r));
        t._applied.Read(r);
        t.EventCount = r.ReadInt64();
        t.ReceivedCount = r.ReadInt64();
        t.LastSeq = r.ReadInt64();
        var marks = r.ReadInt32();
        for (var i = 0; i < marks; i++)
            t._marks.Add(new TimelineMark(r.ReadInt64(), r.ReadDouble(), r.ReadString(), r.ReadBoolean(), r.ReadInt64()));
        if (ReadSet(r) is { } names) t._names = new SortedSet<string>(names, StringComparer.Ordinal);
        if (ReadSet(r) is { } parents) t._parentsTold = new HashSet<string>(parents, StringComparer.Ordinal);
        return t;
    });

    private static void WriteSet(BinaryWriter w, IReadOnlyCollection<string>? set)
    {
        w.Write(set?.Count ?? 0);
        if (set is null) return;
        foreach (var s in set) w.Write(s);
    }

    private static List<string>? ReadSet(BinaryReader r)
    {
        var n = r.ReadInt32();
        if (n == 0) return null;
        var list = new List<string>(n);
        for (var i = 0; i < n; i++) list.Add(r.ReadString());
        return list;
    }
}
