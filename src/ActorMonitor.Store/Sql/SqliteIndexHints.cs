using ActorMonitor.Store.Queries;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// SQLite's planner has no statistics here and picks badly at a million rows: with no filter it
/// scans some index and sorts everything; with an equality filter it walks that filter's index
/// and sorts every match, even a quarter of a million. So the index is named. A text search of
/// three code points or more sorts the trigram index's matches when they are few, and walks
/// the sort's index, testing each entry against them, when they are many; a shorter text (and
/// Flower's search terms) scans the rows.
/// A state filter sorted by started walks (state, started); a state/name/worker filter matching
/// few tasks walks its own index (received second in it) and sorts them; otherwise the sort's
/// own index is walked and the scan stops at the page.
/// </summary>
internal static class SqliteIndexHints
{
    /// <summary>Up to this many matches, reading and sorting them beats walking the sort's index.</summary>
    private const long FewMatches = 20_000;

    /// <param name="matches">How many tasks the filter selects.</param>
    public static string For(TaskQuerySql sql, long matches)
    {
        var q = sql.Query;
        if (sql.FtsPhrase is not null)
            // Sorting the matches reads each row; walking an index costs far less an entry but may
            // pass nearly all of it before the page is full (matches cluster in time). Below
            // FewMatches, sorting costs less than the longest walk (bench/RESULTS.md).
            return matches < FewMatches ? "NOT INDEXED" : "INDEXED BY am_tasks_q_" + SortIndex(q, null);
        var text = !string.IsNullOrEmpty(q.Search) || q.FlowerTerms is { IsEmpty: false } t && (t.Any ?? t.Result) is not null | t.Args is not null | t.Kwargs is not null;
        // The rows: a covering index of the four texts would double what they cost on disk.
        if (text) return "NOT INDEXED";
        // Flower's worker filter also passes tasks without a worker: not a prefix of the worker index.
        var filter = q.Name is not null ? "name" : q.Worker is not null && !q.Lenient ? "worker" : q.State is not null ? "state" : null;
        if (!sql.KeyOnly)
            // A received range within a filter is a range of the filter's index (received second in
            // it); Flower's lenient range also passes tasks without received, which only a scan finds.
            return filter is not null && q.TimeField == TaskTimeField.Received && !q.Lenient ? "INDEXED BY am_tasks_q_" + filter : "";
        // REVOKED or RECEIVED tasks have no started time: walking started alone would pass every other task first.
        if (q.State is not null && q.Sort == TaskSortField.Started) return "INDEXED BY am_tasks_q_state_started";
        return "INDEXED BY am_tasks_q_" + (filter is not null && matches < FewMatches ? filter : SortIndex(q, filter));
    }

    private static string SortIndex(TaskQuery q, string? filter) => q.Sort switch
    {
        TaskSortField.Name => "name",
        TaskSortField.State => "state",
        TaskSortField.Recent => "heap",
        TaskSortField.Received => filter ?? "received",
        var sort => TaskQuerySql.TimeColumn(sort switch
        {
            TaskSortField.Started => TaskTimeField.Started,
            TaskSortField.Succeeded => TaskTimeField.Succeeded,
            TaskSortField.Failed => TaskTimeField.Failed,
            _ => TaskTimeField.Timestamp,
        }),
    };
}
