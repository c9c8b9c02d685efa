using ActorMonitor.Celery.Durable;
using ActorMonitor.Store.Queries;

namespace ActorMonitor.Store;

/// <summary>Rows in process memory: for replays and tests, where nothing has to outlive the process.</summary>
public sealed class MemoryStateStore : IStateStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, TaskRow> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkerRow> _workers = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _types = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ReceiverRow> _receivers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _writers = new(StringComparer.Ordinal); // incarnation -> fenced by

    public StoreTarget Target => StoreTarget.Memory;

    /// <summary>Makes the next commits throw, as a database that went away would (tests).</summary>
    public volatile bool Unavailable;

    /// <summary>When set, a fence waits for it, as one waiting for a commit in flight would (tests).</summary>
    public ManualResetEventSlim? FenceGate { get; init; }

    public void Initialize() { }

    public IDisposable StartupLock() => new NoLock();

    private sealed class NoLock : IDisposable
    {
        public void Dispose() { }
    }

    public void Commit(StoreCommit commit)
    {
        if (Unavailable) throw new InvalidOperationException("the store is unavailable");
        lock (_gate)
        {
            if (commit.Writer is { } writer && (!_writers.TryGetValue(writer, out var fencedBy) || fencedBy is not null))
                throw new WriterFencedException(writer, fencedBy);
            foreach (var t in commit.Tasks) _tasks[t.Uuid] = t;
            foreach (var w in commit.Workers) _workers[w.Hostname] = w;
            _types.UnionWith(commit.TaskTypes);
            foreach (var r in commit.Receivers) _receivers[r.NodeName] = r;
        }
    }

    public void RegisterWriter(string incarnation, string address)
    {
        lock (_gate) _writers.TryAdd(incarnation, null);
    }

    public void Fence(string incarnation, string address, string fencedBy)
    {
        FenceGate?.Wait();
        lock (_gate) _writers[incarnation] = _writers.GetValueOrDefault(incarnation) ?? fencedBy;
    }

    public IReadOnlyDictionary<string, byte[]> LoadTasks(IReadOnlyCollection<string> uuids)
    {
        // Asked once per entity start: one lookup per id, nothing built for the ones not stored.
        lock (_gate)
        {
            var rows = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var u in uuids)
                if (_tasks.TryGetValue(u, out var row)) rows[u] = row.Data;
            return rows;
        }
    }

    public IReadOnlyDictionary<string, byte[]> LoadWorkers(IReadOnlyCollection<string> hostnames)
    {
        lock (_gate)
        {
            var rows = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var h in hostnames)
                if (_workers.TryGetValue(h, out var row)) rows[h] = row.Data;
            return rows;
        }
    }

    public StoredTotals ReadTotals()
    {
        lock (_gate)
            return new StoredTotals(_tasks.Values.Sum(t => t.EventCount), _tasks.Values.Sum(t => t.ReceivedCount),
                _workers.Values.Sum(w => w.EventCount), _tasks.Count == 0 ? 0 : _tasks.Values.Max(t => t.LastSeq), _types.ToList())
            {
                Messages = _receivers.Values.Sum(r => r.Messages),
                RejectedMessages = _receivers.Values.Sum(r => r.RejectedMessages),
                OtherEvents = _receivers.Values.Sum(r => r.OtherEvents),
            };
    }

    public IReadOnlyList<KeyValuePair<string, byte[]>> LatestTasks(int count)
    {
        lock (_gate)
            return _tasks.Values.OrderByDescending(t => t.LastSeq).Take(count).Select(t => KeyValuePair.Create(t.Uuid, t.Data)).ToList();
    }

    public IReadOnlyList<ReceiverRow> Receivers()
    {
        lock (_gate) return _receivers.Values.ToList();
    }

    public IEnumerable<KeyValuePair<string, byte[]>> AllTasks()
    {
        lock (_gate) return _tasks.Values.OrderBy(t => t.Uuid, StringComparer.Ordinal).Select(t => KeyValuePair.Create(t.Uuid, t.Data)).ToList();
    }

    public IEnumerable<KeyValuePair<string, byte[]>> AllWorkers()
    {
        lock (_gate) return _workers.Values.Select(w => KeyValuePair.Create(w.Hostname, w.Data)).ToList();
    }

    public TaskPage QueryTasks(TaskQuery query)
    {
        List<TaskRow> matching;
        lock (_gate) matching = _tasks.Values.Where(t => TaskRowFilter.Matches(t, query)).ToList();
        var page = TaskRowFilter.Order(matching, query).Skip(query.Offset).Take(query.Limit)
            .Select(t => TaskRecord.FromRow(t.Uuid, t.Data).State.ToSnapshot()).ToList();
        return new TaskPage(matching.Count, query.Limit, query.Offset, page);
    }

    public TaskCounts CountTasks(TaskQuery filter)
    {
        List<TaskRow> matching;
        lock (_gate) matching = _tasks.Values.Where(t => TaskRowFilter.Matches(t, filter)).ToList();
        return new TaskCounts(matching.Count, CountBy(matching, t => t.State), CountBy(matching, t => t.Name), CountBy(matching, t => t.Worker));
    }

    private static SortedDictionary<string, long> CountBy(IEnumerable<TaskRow> rows, Func<TaskRow, string?> key) =>
        new(rows.Select(key).OfType<string>().GroupBy(k => k).ToDictionary(g => g.Key, g => (long)g.Count()), StringComparer.Ordinal);

    public bool HasState(string state)
    {
        lock (_gate) return _tasks.Values.Any(t => t.Exists && t.State == state);
    }

    public IReadOnlyList<string> TaskTypes()
    {
        lock (_gate) return _types.ToList();
    }

    public void Dispose() { }
}
