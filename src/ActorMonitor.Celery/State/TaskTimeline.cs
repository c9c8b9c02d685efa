namespace ActorMonitor.Celery.State;

/// <summary>
/// Celery's State._taskheap: one kombu timetuple (clock, timestamp, origin, task) per task event,
/// kept in a list by "append if later than the last, else insort_right", which is what
/// tasks_by_time() walks. timetuple ordering is not a total order when zero and non-zero clocks
/// mix, so the insertion algorithm itself is reproduced, not just a sort key.
/// Entries are structs in a <see cref="BlockList{T}"/>; origins are interned, uuids are held by
/// reference only while their entry is in the bounded list.
/// </summary>
public sealed class TaskTimeline
{
    private readonly record struct Entry(long Clock, double Timestamp, int Origin, string Task);

    private readonly BlockList<Entry> _heap = new();
    private readonly List<string> _origins = [];
    private readonly Dictionary<string, int> _originIds = new(StringComparer.Ordinal);

    public TaskTimeline(long maxEntries = long.MaxValue) => MaxEntries = maxEntries;

    /// <summary>Celery: max_tasks_in_memory * 4; when full the oldest entry is dropped first.</summary>
    public long MaxEntries { get; }

    public int Count => _heap.Count;

    public void Add(long clock, double timestamp, string origin, string uuid)
    {
        var entry = new Entry(clock, timestamp, Intern(origin, _origins, _originIds), uuid);
        var heaps = _heap.Count;
        if (heaps + 1 > MaxEntries) _heap.RemoveFirst();
        if (heaps > 0 && LessThan(_heap.Last, entry))
        {
            _heap.Add(entry);
            return;
        }
        int lo = 0, hi = _heap.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (LessThan(entry, _heap[mid])) hi = mid;
            else lo = mid + 1;
        }
        _heap.Insert(lo, entry);
    }

    /// <summary>tasks_by_time(): newest first, each uuid at its latest heap position.</summary>
    public IEnumerable<string> TasksByTime(int? limit = null)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var entries = 0;
        foreach (var entry in _heap.Reversed())
        {
            if (limit is { } l && entries++ >= l) yield break; // Celery's islice applies to entries, not tasks
            if (seen.Add(entry.Task)) yield return entry.Task;
        }
    }

    // kombu.clocks.timetuple.__lt__: logical clocks when both are set (ties broken by origin), else timestamps.
    private bool LessThan(in Entry a, in Entry b)
    {
        if (a.Clock != 0 && b.Clock != 0)
        {
            if (a.Clock == b.Clock) return string.CompareOrdinal(_origins[a.Origin], _origins[b.Origin]) < 0;
            return a.Clock < b.Clock;
        }
        return a.Timestamp < b.Timestamp;
    }

    private static int Intern(string value, List<string> values, Dictionary<string, int> ids)
    {
        if (ids.TryGetValue(value, out var id)) return id;
        id = values.Count;
        values.Add(value);
        ids[value] = id;
        return id;
    }
}
