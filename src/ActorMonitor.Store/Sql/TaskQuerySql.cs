using System.Data;
using System.Data.Common;
using System.Text;
using ActorMonitor.Store.Queries;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// A <see cref="TaskQuery"/> as one parameterised WHERE and ORDER BY, for SQLite and PostgreSQL
/// alike (their few differences spelled by the <see cref="ISqlDialect"/>); the semantics are <see cref="TaskRowFilter"/>'s. Only column names and operators are
/// spliced in, from fixed lists; every value the caller gave is a parameter.
/// </summary>
internal sealed class TaskQuerySql
{
    private readonly ISqlDialect _dialect;
    private readonly List<(string Name, object Value, DbType Type)> _parameters = [];

    public TaskQuerySql(TaskQuery q, ISqlDialect dialect)
    {
        _dialect = dialect;
        Query = q;
        FtsPhrase = dialect.HasTextIndex ? PhraseOf(q.Search) : null;
        Where = BuildWhere(q);
        OrderBy = BuildOrder(q);
        KeyOnly = q.Since is null && q.Until is null && string.IsNullOrEmpty(q.Search) && q.FlowerTerms is not { IsEmpty: false };
        // Only a search of one trigram is matched exactly by the index (see PhraseOf).
        SearchOnly = FtsPhrase is not null && q.Search!.EnumerateRunes().Count() == 3 &&
            q is { State: null, Name: null, Worker: null, Since: null, Until: null, FlowerTerms: null or { IsEmpty: true } };
        if (KeyOnly) CountsWhere = BuildCountsWhere(q);
    }

    public TaskQuery Query { get; }

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

    /// <summary>The table hint naming the index to walk, where the planner needs one (<see cref="ISqlDialect.IndexHint"/>).</summary>
    /// <param name="matches">How many tasks the filter selects.</param>
    public string IndexHint(long matches) => _dialect.IndexHint(this, matches);

    /// <summary>For counts grouped over the filter: the trigram index's matches drive, as for a page.</summary>
    public string GroupHint => FtsPhrase is not null ? "NOT INDEXED" : "";

    /// <summary>
    /// SQLite, a search of three code points or more: the FTS5 query of its trigrams, ANDed. The
    /// index keeps no positions (detail=none: much smaller, bench/RESULTS.md), so it cannot match a phrase;
    /// the rows holding every trigram of the text are a superset of those containing it, which the
    /// instr test of the WHERE then narrows. One trigram alone is matched exactly.
    /// </summary>
    public string? FtsPhrase { get; }

    /// <summary>The filter is a search of one trigram alone: the trigram index counts it without reading a row.</summary>
    public bool SearchOnly { get; }

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

    private string? _ftsPhraseParam;

    /// <summary>The phrase as a parameter, bound once for the WHERE and for the count of the trigram index.</summary>
    public string FtsPhraseParam => _ftsPhraseParam ??= Param(FtsPhrase!);

    /// <summary>Trigrams a search's query names at most, spread over the text: each narrows less than the one before.</summary>
    private const int MaxTrigrams = 12;

    /// <summary>
    /// The FTS5 query of the trigrams of <paramref name="search"/>, each an FTS5 string (quotes
    /// doubled, so no query syntax), ANDed; null under three code points, which trigrams cannot answer.
    /// </summary>
    public static string? PhraseOf(string? search)
    {
        if (search is null) return null;
        var runes = search.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (runes.Length < 3) return null;
        var all = Enumerable.Range(0, runes.Length - 2).Select(i => runes[i] + runes[i + 1] + runes[i + 2]).Distinct().ToList();
        var chosen = all.Count <= MaxTrigrams
            ? all
            : Enumerable.Range(0, MaxTrigrams).Select(k => all[k * (all.Count - 1) / (MaxTrigrams - 1)]).Distinct().ToList();
        return string.Join(" AND ", chosen.Select(t => "\"" + t.Replace("\"", "\"\"") + "\""));
    }

    private string Instr(string haystack, string needle) => _dialect.Instr(haystack, needle);

    private string Collate => _dialect.Ordinal;

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
            if (FtsPhrase is not null)
                and.Add($"rowid IN (SELECT rowid FROM am_task_texts WHERE am_task_texts MATCH {FtsPhraseParam})");
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
        return $"({at} > 0 AND {end} > 0 AND {_dialect.Trim}(substr({rest}, 1, {end} - 1), '\"''') = {Param(value)})";
    }

    private string BuildOrder(TaskQuery q)
    {
        var dir = q.Descending ? "DESC" : "ASC";
        // A missing value sorts lowest: SQLite's own rule, spelled out for PostgreSQL.
        var nulls = _dialect.NullsLowest(q.Descending);
        var heapDesc = $"heap_clock DESC, heap_origin{Collate} DESC{_dialect.NullsLowest(true)}, last_seq DESC";
        var sb = new StringBuilder("ORDER BY ");
        switch (q.Sort)
        {
            case TaskSortField.Recent:
                sb.Append(q.Descending ? heapDesc : $"heap_clock ASC, heap_origin{Collate} ASC{_dialect.NullsLowest(false)}, last_seq ASC");
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
