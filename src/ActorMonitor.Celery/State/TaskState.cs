using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.State;

/// <summary>
/// Celery's events.state.Task for one uuid: precedence with the RETRY rule, merge rules,
/// custom task-* states and the whole-event field copy. Values are raw JSON.
/// </summary>
public sealed class TaskState
{
    /// <summary>Task attributes of the state schema that an event can write (uuid, worker, children excepted).</summary>
    public static readonly string[] FieldNames =
    [
        "name", "state", "sent", "received", "started", "succeeded", "failed", "retried", "revoked", "rejected",
        "args", "kwargs", "eta", "expires", "retries", "result", "exception", "traceback", "timestamp",
        "runtime", "exchange", "routing_key", "clock", "client", "root_id", "parent_id",
    ];

    private static readonly Dictionary<string, int> FieldIndex =
        FieldNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);

    // Task.merge_rules: an out-of-order task-received only contributes these.
    private static readonly HashSet<string> ReceivedMergeRule =
        ["name", "args", "kwargs", "parent_id", "root_id", "retries", "eta", "expires"];

    private static readonly int StateIx = FieldIndex["state"];
    private static readonly int TimestampIx = FieldIndex["timestamp"];
    private static readonly int ClockIx = FieldIndex["clock"];
    private static readonly int ClientIx = FieldIndex["client"];
    private static readonly int NameIx = FieldIndex["name"];
    private static readonly int ParentIdIx = FieldIndex["parent_id"];

    private readonly string?[] _values = new string?[FieldNames.Length];
    private SortedSet<string>? _children;
    private string? _state = TaskStates.Pending; // the string value of _values[state], decoded once

    public TaskState(string uuid)
    {
        Uuid = uuid;
        _values[StateIx] = RawJson.String(TaskStates.Pending);
        _values[ClockIx] = "0";
    }

    public string Uuid { get; }

    /// <summary>True once an event for this uuid was applied (Celery's State then holds the Task).</summary>
    public bool Exists { get; private set; }

    /// <summary>Hostname of the worker of the last non-client event (Task.worker).</summary>
    public string? Worker { get; private set; }

    public IReadOnlyCollection<string> Children => (IReadOnlyCollection<string>?)_children ?? [];

    public string? State => _state;
    public string? Name => Decoded(NameIx, ref _name);
    public string? ParentId => Decoded(ParentIdIx, ref _parentId);

    // Read for every event (metrics, parent links) and every row: decoded again only when the
    // raw value was replaced, not a new string per read.
    private (string? Raw, string? Text) _name, _parentId;

    private string? Decoded(int ix, ref (string? Raw, string? Text) cache)
    {
        var raw = _values[ix];
        if (!ReferenceEquals(raw, cache.Raw)) cache = (raw, RawJson.AsString(raw));
        return cache.Text;
    }

    public string? this[string field] => FieldIndex.TryGetValue(field, out var i) ? _values[i] : null;

    private static readonly Dictionary<string, string> KnownRawStates = new[]
        { TaskStates.Pending, TaskStates.Received, TaskStates.Started, TaskStates.Success, TaskStates.Failure, TaskStates.Retry, TaskStates.Revoked, TaskStates.Rejected }
        .ToDictionary(s => s, RawJson.String);

    private static string RawState(string state) => KnownRawStates.TryGetValue(state, out var raw) ? raw : RawJson.String(state);

    public static bool IsCopiedField(string name) => FieldIndex.ContainsKey(name);

    public void Apply(TaskEvent ev)
    {
        Exists = true;
        if (ev.IsClientEvent) _values[ClientIx] = RawJson.String(ev.Hostname);
        else Worker = ev.Hostname;

        var timestamp = RawJson.Number(ev.Timestamp);
        var newState = TaskStates.ForSubject(ev.Subject);
        if (newState is not null) _values[FieldIndex[ev.Subject]] = timestamp;
        else newState = ev.Subject.ToUpperInvariant();

        // Precedence is reversed: a higher index happened before the current state, so merge.
        var current = State;
        if (newState != TaskStates.Retry && current != TaskStates.Retry &&
            TaskStates.Precedence(newState) > TaskStates.Precedence(current))
        {
            if (newState == TaskStates.Received)
            {
                foreach (var kv in ev.Fields)
                    if (ReceivedMergeRule.Contains(kv.Key)) _values[FieldIndex[kv.Key]] = kv.Value;
                return;
            }
            CopyFields(ev, timestamp);
            return;
        }

        CopyFields(ev, timestamp);
        _values[StateIx] = RawState(newState);
        _state = newState;
        _values[TimestampIx] = timestamp;
    }

    private void CopyFields(TaskEvent ev, string timestamp)
    {
        for (var i = 0; i < ev.Fields.Count; i++)
        {
            var kv = ev.Fields[i];
            if (!FieldIndex.TryGetValue(kv.Key, out var ix)) continue; // e.g. queue, pid: not in the schema
            _values[ix] = kv.Value;
            if (ix == StateIx) _state = RawJson.AsString(kv.Value);
        }
        _values[TimestampIx] = timestamp;
        _values[ClockIx] = RawJson.Number(ev.Clock);
    }

    /// <summary>Celery adds a child to its parent's children (a retried task lists itself).</summary>
    public bool AddChild(string childUuid) => (_children ??= new SortedSet<string>(StringComparer.Ordinal)).Add(childUuid);

    /// <summary>Writes everything <see cref="Read"/> needs to rebuild this task exactly.</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(Exists);
        Durable.RowFormat.WriteNullable(w, Worker);
        foreach (var v in _values) Durable.RowFormat.WriteNullable(w, v);
        var children = Children;
        w.Write(children.Count);
        foreach (var c in children) w.Write(c);
    }

    public static TaskState Read(string uuid, BinaryReader r)
    {
        var t = new TaskState(uuid) { Exists = r.ReadBoolean() };
        t.Worker = Durable.RowFormat.ReadNullable(r);
        for (var i = 0; i < t._values.Length; i++) t._values[i] = Durable.RowFormat.ReadNullable(r);
        t._state = RawJson.AsString(t._values[StateIx]);
        var children = r.ReadInt32();
        for (var i = 0; i < children; i++) t.AddChild(r.ReadString());
        return t;
    }

    public TaskSnapshot ToSnapshot() =>
        new(Uuid, FieldNames.Select((n, i) => new KeyValuePair<string, string?>(n, _values[i])).ToArray(), Worker, Children.ToArray());
}

/// <summary>A task's state in the schema of the oracle (tasks[uuid]).</summary>
public sealed record TaskSnapshot(
    string Uuid,
    IReadOnlyList<KeyValuePair<string, string?>> Fields,
    string? Worker,
    IReadOnlyList<string> Children)
{
    public string? Field(string name) => Fields.FirstOrDefault(kv => kv.Key == name).Value;
}
