using System.Data;
using System.Data.Common;
using System.Text;
using ActorMonitor.Cluster.Queries;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// A <see cref="TaskQuery"/> as one parameterised WHERE and ORDER BY, for SQLite and PostgreSQL
/// alike; the semantics are <see cref="TaskRowFilter"/>'s. Only column names and operators are
/// spliced in, from fixed lists; every value the caller gave is a parameter.
/// </summary>
internal sealed class TaskQuerySql
{
    private readonly bool _postgres;
    private readonly List<(string Name, object Value, DbType Type)> _parameters = [];

    private readonly TaskQuery _query;

    public TaskQuerySql(TaskQuery q, bool postgres)
    {
        _postgres = postgres;
        _query = q;
        Where = BuildWhere(q);
        OrderBy = BuildOrder(q);
        KeyOnly = q.Since is null && q.Until is null && string.IsNullOrEmpty(q.Search) && q.FlowerTerms is not { IsEmpty: false };
        if (KeyOnly) CountsWhere = BuildCountsWhere(q);
    }

    /// <summary>The filter is on state, name and worker only: am_task_counts answers its counts.</summary>
    public bool KeyOnly { get; }

    /// <summary>The same filter on am_task_counts (a missing value is '' there).</summary>
    public string CountsWhere { get; } = "";

    private string BuildCountsWhere(TaskQuery q)
    {
        var and = new List<string> { "n <> 0" };
        if (q.State is not null) and.Add("state = " + Param(q.State));
        if (q.Name is not null) and.Add("name = " + Param(q.Name));
        if (q.Worker is not null) and.Add(q.Lenient ? $"(worker = '' OR worker = {Param(q.Worker)})" : "worker = " + Param(q.Worker));
        return "WHERE " + string.Join(" AND ", and);
    }

    /// <summary>
    /// SQLite's planner has no statistics here and picks badly at a million rows: with no filter it
    /// scans some index and sorts everything; with an equality filter it walks that filter's index
    /// and sorts every match, even a quarter of a million. So the index is named: a text search
    /// scans the narrow covering text index instead of the rows; a state/name/worker filter matching
    /// few tasks walks its own index (received comes second in it) and sorts them; otherwise the
    /// sort's own index is walked and the scan stops at the page. PostgreSQL plans for itself.
    /// </summary>
    public string IndexHint(long matches)
    {
        if (_postgres) return "";
        var q = _query;
        // The trigram index gives the candidates by rowid; NOT INDEXED keeps SQLite from walking a
        // sort index instead and testing every row against the candidates.
        if (TrigramMatch(q.Search) is not null) return "NOT INDEXED";
        var text = !string.IsNullOrEmpty(q.Search) || q.FlowerTerms is { IsEmpty: false } t && (t.Any ?? t.Result) is not null | t.Args is not null | t.Kwargs is not null;
        if (text) return "INDEXED BY am_tasks_q_text";
        if (!KeyOnly) return ""; // a time range: its own index, or a filter's with received second
        // Flower's worker filter also passes tasks without a worker: not a prefix of the worker index.
        var filter = q.Name is not null ? "name" : q.Worker is not null && !q.Lenient ? "worker" : q.State is not null ? "state" : null;
        var sortIndex = q.Sort switch
        {
            TaskSortField.Name => "name",
            TaskSortField.State => "state",
            TaskSortField.Recent => "heap",
            TaskSortField.Received => filter ?? "received",
            _ => TimeColumn(q.Sort switch
            {
                TaskSortField.Started => TaskTimeField.Started,
                TaskSortField.Succeeded => TaskTimeField.Succeeded,
                TaskSortField.Failed => TaskTimeField.Failed,
                _ => TaskTimeField.Timestamp,
            }),
        };
        return "INDEXED BY am_tasks_q_" + (filter is not null && matches < 20_000 ? filter : sortIndex);
    }

    /// <summary>For counts grouped over the filter: the trigram candidates drive, as for a page.</summary>
    public string GroupHint => !_postgres && TrigramMatch(_query.Search) is not null ? "NOT INDEXED" : "";

    /// <summary>Starts with "WHERE event_count > 0", the condition of the partial indexes.</summary>
    public string Where { get; }

    public string OrderBy { get; }

    public void Bind(DbCommand cmd)
    {
        foreach (var (name, value, type) in _parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            p.DbType = type;
            cmd.Parameters.Add(p);
        }
    }

    private string Param(object value)
    {
        var name = "@q" + _parameters.Count;
        _parameters.Add((name, value, value switch { double => DbType.Double, long => DbType.Int64, int => DbType.Int32, _ => DbType.String }));
        return name;
    }

    /// <summary>
    /// The FTS5 query "every trigram of the text" (in code points, as the trigram tokenizer
    /// counts), each trigram a quoted string; null for a text under three code points, which the
    /// trigram index cannot answer (such a search reads the texts' covering index).
    /// </summary>
    public static string? TrigramMatch(string? search)
    {
        if (string.IsNullOrEmpty(search)) return null;
        var runes = search.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (runes.Length < 3) return null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var terms = new List<string>();
        for (var i = 0; i + 3 <= runes.Length; i++)
        {
            var trigram = runes[i] + runes[i + 1] + runes[i + 2];
            if (seen.Add(trigram)) terms.Add("\"" + trigram.Replace("\"", "\"\"") + "\"");
        }
        return string.Join(" AND ", terms);
    }

    private string Instr(string haystack, string needle) => _postgres ? $"strpos({haystack}, {needle})" : $"instr({haystack}, {needle})";

    private string Collate => _postgres ? " COLLATE \"C\"" : "";

    public static string TimeColumn(TaskTimeField f) => f switch
    {
        TaskTimeField.Received => "received",
        TaskTimeField.Started => "started",
        TaskTimeField.Succeeded => "succeeded",
        TaskTimeField.Failed => "failed",
        _ => "timestamp",
    };

    private string BuildWhere(TaskQuery q)
    {
        var and = new List<string> { "event_count > 0" };
        if (q.State is not null) and.Add("state = " + Param(q.State));
        if (q.Name is not null) and.Add("name = " + Param(q.Name));
        if (q.Worker is not null) and.Add(q.Lenient ? $"(worker IS NULL OR worker = {Param(q.Worker)})" : "worker = " + Param(q.Worker));
        var time = TimeColumn(q.TimeField);
        if (q.Since is { } since) and.Add(q.Lenient ? $"({time} IS NULL OR {time} >= {Param(since)})" : $"{time} >= {Param(since)}");
        if (q.Until is { } until) and.Add(q.Lenient ? $"({time} IS NULL OR {time} <= {Param(until)})" : $"{time} <= {Param(until)}");
        if (!string.IsNullOrEmpty(q.Search))
        {
            var s = Param(q.Search);
            and.Add("(" + string.Join(" OR ", new[] { "args", "kwargs", "result", "exception" }.Select(col => $"{Instr(col, s)} > 0")) + ")");
            if (!_postgres && TrigramMatch(q.Search) is { } match)
                and.Add($"rowid IN (SELECT rowid FROM am_task_texts WHERE am_task_texts MATCH {Param(match)})");
        }
        if (q.FlowerTerms is { IsEmpty: false } terms) and.Add(FlowerWhere(terms));
        return "WHERE " + string.Join(" AND ", and);
    }

    // FlowerSearch.Matches, term for term: any of the term kinds present.
    private string FlowerWhere(FlowerSearch t)
    {
        var or = new List<string>();
        if (t.States is { } states) or.Add($"state IN ({string.Join(", ", states.Select(s => Param(s)))})");
        if (t.Any is { } any)
        {
            // '|'.join(filter(None, [...])): each present value prefixed by '|', then the first '|' dropped.
            var joined = string.Join(" || ", new[] { "name", "uuid", "state", "worker", "args", "kwargs", "COALESCE(result, 'None')" }
                .Select(col => $"COALESCE('|' || NULLIF({col}, ''), '')"));
            or.Add($"{Instr($"substr({joined}, 2)", Param(any))} > 0");
        }
        if (t.Result is { } result) or.Add($"{Instr("result", Param(result))} > 0");
        if (t.Kwargs is { } kwargs)
            or.Add("(" + string.Join(" AND ", kwargs.Select(kv => KwargsContain(kv.Key, kv.Value))) + ")");
        if (t.Args is { } args)
            or.Add("(" + string.Join(" AND ", args.Select(a => $"{Instr("args", Param(a))} > 0")) + ")");
        return "(" + string.Join(" OR ", or) + ")";
    }

    // FlowerSearch.KwargsContain: the text from the key's first occurrence + len(key) + 3 up to the
    // next ',' (else '}'), stripped of quotes, equals the value.
    private string KwargsContain(string key, string value)
    {
        var k = Param(key);
        var at = Instr("kwargs", k);
        var rest = $"substr(kwargs, {at} + {Param(FlowerSearch.CodePoints(key) + 3)})";
        var comma = Instr(rest, "','");
        var brace = Instr(rest, "'}'");
        var end = $"(CASE WHEN {comma} > 0 THEN {comma} ELSE {brace} END)";
        var trim = _postgres ? "btrim" : "trim";
        return $"({at} > 0 AND {end} > 0 AND {trim}(substr({rest}, 1, {end} - 1), '\"''') = {Param(value)})";
    }

    private string BuildOrder(TaskQuery q)
    {
        var dir = q.Descending ? "DESC" : "ASC";
        // A missing value sorts lowest: SQLite's own rule, spelled out for PostgreSQL.
        var nulls = _postgres ? (q.Descending ? " NULLS LAST" : " NULLS FIRST") : "";
        var heapDesc = $"heap_clock DESC, heap_origin{Collate} DESC{(_postgres ? " NULLS LAST" : "")}, last_seq DESC";
        var sb = new StringBuilder("ORDER BY ");
        switch (q.Sort)
        {
            case TaskSortField.Recent:
                sb.Append(q.Descending ? heapDesc : $"heap_clock ASC, heap_origin{Collate} ASC{(_postgres ? " NULLS FIRST" : "")}, last_seq ASC");
                break;
            case TaskSortField.Name:
            case TaskSortField.State:
                sb.Append(q.Sort == TaskSortField.Name ? "name" : "state").Append(Collate).Append(' ').Append(dir).Append(nulls).Append(", ").Append(heapDesc);
                break;
            default:
                sb.Append(TimeColumn(q.Sort switch
                {
                    TaskSortField.Received => TaskTimeField.Received,
                    TaskSortField.Started => TaskTimeField.Started,
                    TaskSortField.Succeeded => TaskTimeField.Succeeded,
                    TaskSortField.Failed => TaskTimeField.Failed,
                    _ => TaskTimeField.Timestamp,
                })).Append(' ').Append(dir).Append(nulls).Append(", ").Append(heapDesc);
                break;
        }
        return sb.Append(", uuid").Append(Collate).ToString();
    }
}
