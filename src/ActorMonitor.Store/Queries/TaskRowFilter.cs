namespace ActorMonitor.Store.Queries;

/// <summary>
/// A <see cref="TaskQuery"/> over rows in memory (<see cref="MemoryStateStore"/>): the reference
/// semantics the SQL store's statements reproduce.
/// </summary>
public static class TaskRowFilter
{
    public static bool Matches(TaskRow r, TaskQuery q)
    {
        if (!r.Exists) return false;
        if (q.State is not null && r.State != q.State) return false;
        if (q.Name is not null && r.Name != q.Name) return false;
        if (q.Worker is not null && r.Worker != q.Worker && !(q.Lenient && r.Worker is null)) return false;
        if (q.Since is not null || q.Until is not null)
        {
            var t = Time(r, q.TimeField);
            if (t is null)
            {
                if (!q.Lenient) return false;
            }
            else if (t < q.Since || t > q.Until) return false;
        }
        if (!string.IsNullOrEmpty(q.Search) && !new[] { r.Args, r.Kwargs, r.Result, r.Exception }
                .Any(text => text is not null && text.Contains(q.Search, StringComparison.Ordinal)))
            return false;
        if (q.FlowerTerms is { IsEmpty: false } terms && !terms.Matches(r.Uuid, r.Name, r.State, r.Worker, r.Args, r.Kwargs, r.Result))
            return false;
        return true;
    }

    public static double? Time(TaskRow r, TaskTimeField field) => field switch
    {
        TaskTimeField.Received => r.Received,
        TaskTimeField.Started => r.Started,
        TaskTimeField.Succeeded => r.Succeeded,
        TaskTimeField.Failed => r.Failed,
        _ => r.Timestamp,
    };

    /// <summary>The query's order: its field (a missing value lowest), then Celery's heap order, most recent first.</summary>
    public static IOrderedEnumerable<TaskRow> Order(IEnumerable<TaskRow> rows, TaskQuery q)
    {
        IOrderedEnumerable<TaskRow> ordered = q.Sort switch
        {
            TaskSortField.Name => By(rows, r => r.Name, StringComparer.Ordinal, q.Descending),
            TaskSortField.State => By(rows, r => r.State, StringComparer.Ordinal, q.Descending),
            TaskSortField.Recent => q.Descending
                ? rows.OrderByDescending(r => r.HeapClock).ThenByDescending(r => r.HeapOrigin, StringComparer.Ordinal).ThenByDescending(r => r.LastSeq)
                : rows.OrderBy(r => r.HeapClock).ThenBy(r => r.HeapOrigin, StringComparer.Ordinal).ThenBy(r => r.LastSeq),
            TaskSortField.Received => By(rows, r => r.Received, Comparer<double?>.Default, q.Descending),
            TaskSortField.Started => By(rows, r => r.Started, Comparer<double?>.Default, q.Descending),
            TaskSortField.Succeeded => By(rows, r => r.Succeeded, Comparer<double?>.Default, q.Descending),
            TaskSortField.Failed => By(rows, r => r.Failed, Comparer<double?>.Default, q.Descending),
            _ => By(rows, r => r.Timestamp, Comparer<double?>.Default, q.Descending),
        };
        if (q.Sort != TaskSortField.Recent)
            ordered = ordered.ThenByDescending(r => r.HeapClock).ThenByDescending(r => r.HeapOrigin, StringComparer.Ordinal).ThenByDescending(r => r.LastSeq);
        return ordered.ThenBy(r => r.Uuid, StringComparer.Ordinal);
    }

    // Null sorts lowest with both comparers (Comparer<double?> and StringComparer.Ordinal).
    private static IOrderedEnumerable<TaskRow> By<T>(IEnumerable<TaskRow> rows, Func<TaskRow, T> key, IComparer<T> comparer, bool descending) =>
        descending ? rows.OrderByDescending(key, comparer) : rows.OrderBy(key, comparer);
}
