using System.Text.Json;
using System.Text.RegularExpressions;

namespace ActorMonitor.Tests.Shared;

/// <summary>One task of a corpus's expected state (Celery's State), with its place in Celery's task heap.</summary>
public sealed record ExpectedTask(string Uuid, JsonElement Json, int HeapRank)
{
    public string? Str(string field) => Json.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public double? Num(string field) => Json.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>What Celery's Task attribute holds as text: a string as is, any other value as JSON, None as null.</summary>
    public string? Text(string field) => Json.TryGetProperty(field, out var v)
        ? v.ValueKind switch { JsonValueKind.Null => null, JsonValueKind.String => v.GetString(), _ => v.GetRawText() }
        : null;
}

/// <summary>
/// Reference answers for task queries, computed from a corpus's expected.json (Celery's own
/// State) without the code under test: our query semantics, and Flower's ListTasks as its code
/// defines it (flower/utils/tasks.py iter_tasks and sort_tasks, flower/utils/search.py).
/// </summary>
public sealed class QueryReference
{
    public QueryReference(string corpus)
    {
        Document = JsonDocument.Parse(File.ReadAllBytes(Corpus.Expected(corpus)));
        var root = Document.RootElement;
        // tasks_by_time is State.tasks_by_timestamp(): the most recent first.
        var rank = root.GetProperty("tasks_by_time").EnumerateArray().Select((u, i) => (u.GetString()!, i)).ToDictionary(x => x.Item1, x => x.i);
        Tasks = root.GetProperty("tasks").EnumerateObject()
            .Select(p => new ExpectedTask(p.Name, p.Value, rank.TryGetValue(p.Name, out var r) ? r : int.MaxValue))
            .OrderBy(t => t.HeapRank).ToList();
    }

    public JsonDocument Document { get; }

    /// <summary>Every task, in Celery's tasks_by_timestamp() order.</summary>
    public IReadOnlyList<ExpectedTask> Tasks { get; }

    public ExpectedTask this[string uuid] => Tasks.First(t => t.Uuid == uuid);

    /// <summary>
    /// Our order: by the field (a missing value lowest), ties in heap order (the most recent first,
    /// as Python's stable sort keeps Flower's order); no field: the heap order itself.
    /// </summary>
    public static List<ExpectedTask> Order(IEnumerable<ExpectedTask> tasks, string? field, bool descending)
    {
        var byHeap = tasks.OrderBy(t => t.HeapRank).ToList();
        if (field is null) return descending ? byHeap : Enumerable.Reverse(byHeap).ToList();
        if (field is "name" or "state")
            return (descending ? byHeap.OrderByDescending(t => t.Str(field) ?? "", StringComparer.Ordinal) : byHeap.OrderBy(t => t.Str(field) ?? "", StringComparer.Ordinal)).ToList();
        return (descending ? byHeap.OrderByDescending(t => t.Num(field) ?? 0.0) : byHeap.OrderBy(t => t.Num(field) ?? 0.0)).ToList();
    }

    /// <summary>Flower's ListTasks (flower/api/tasks.py) over iter_tasks (flower/utils/tasks.py).</summary>
    public List<ExpectedTask> Flower(int? limit = null, int offset = 0, string? sortBy = null, string? workername = null, string? taskname = null,
        string? state = null, double? receivedStart = null, double? receivedEnd = null, string? search = null)
    {
        IEnumerable<ExpectedTask> tasks = Tasks; // events.state.tasks_by_timestamp()
        if (sortBy is not null)
        {
            var field = sortBy.TrimStart('-');
            // sorted(tasks, key=lambda x: getattr(x[1], sort_by) or sort_keys[sort_by](), reverse=...): stable both ways.
            Func<ExpectedTask, IComparable> key = field is "name" or "state" ? t => t.Str(field) ?? "" : t => t.Num(field) ?? 0.0;
            tasks = sortBy.StartsWith('-') ? tasks.OrderByDescending(key).ToList() : tasks.OrderBy(key).ToList();
        }
        var terms = ParseFlowerSearch(search);
        var result = new List<ExpectedTask>();
        var i = 0;
        foreach (var t in tasks)
        {
            if (taskname is not null && t.Str("name") != taskname) continue;
            if (workername is not null && t.Str("worker") is { } w && w != workername) continue;
            if (state is not null && t.Str("state") != state) continue;
            if (receivedStart is not null && t.Num("received") is { } r1 and not 0 && r1 < receivedStart) continue;
            if (receivedEnd is not null && t.Num("received") is { } r2 and not 0 && r2 > receivedEnd) continue;
            if (!SatisfiesFlowerSearch(t, terms)) continue;
            if (i >= offset) result.Add(t);
            i++;
            if (limit is not null && i == limit + offset) break;
        }
        return result;
    }

    private sealed record Terms(string? Any, string? Result, List<string>? Args, Dictionary<string, string>? Kwargs, List<string>? States);

    // flower/utils/search.py parse_search_terms
    private static Terms ParseFlowerSearch(string? raw)
    {
        string? any = null, result = null;
        List<string>? args = null, states = null;
        Dictionary<string, string>? kwargs = null;
        static string Pre(string v) => v.Trim('"', ' ');
        if (!string.IsNullOrEmpty(raw))
            foreach (Match m in Regex.Matches(raw, """(?:[^\s,"]|"(?:\\.|[^"])*")+"""))
            {
                var q = m.Value;
                if (q.StartsWith("result:")) result = Pre(q[7..]);
                else if (q.StartsWith("args:")) (args ??= []).Add(Pre(q[5..]));
                else if (q.StartsWith("kwargs:"))
                {
                    var kv = q[7..].Split('=').Select(p => p.Trim()).ToArray();
                    (kwargs ??= [])[kv[0]] = Pre(kv[1]);
                }
                else if (q.StartsWith("state")) (states ??= []).Add(Pre(q.Length > 6 ? q[6..] : ""));
                else any = Pre(q);
            }
        return new Terms(any, result, args, kwargs, states);
    }

    // flower/utils/search.py satisfies_search_terms (a term Flower would fail on does not match)
    private static bool SatisfiesFlowerSearch(ExpectedTask t, Terms s)
    {
        if (string.IsNullOrEmpty(s.Any) && string.IsNullOrEmpty(s.Result) && s.Args is null && s.Kwargs is null && s.States is null) return true;
        var args = t.Text("args");
        var kwargs = t.Text("kwargs");
        var result = t.Text("result");
        var joined = string.Join('|', new[] { t.Str("name"), t.Uuid, t.Str("state"), t.Str("worker"), args, kwargs, result ?? "None" }.Where(x => !string.IsNullOrEmpty(x)));
        return (s.States is not null && s.States.Contains(t.Str("state")!))
               || (!string.IsNullOrEmpty(s.Any) && joined.Contains(s.Any))
               || (!string.IsNullOrEmpty(s.Result) && result is not null && result.Contains(s.Result))
               || (s.Kwargs is not null && kwargs is not null && s.Kwargs.All(kv => StringifiedDictContains(kwargs, kv.Key, kv.Value)))
               || (s.Args is not null && args is not null && s.Args.All(a => args.Contains(a)));
    }

    // flower/utils/search.py stringified_dict_contains_value (ASCII keys here)
    private static bool StringifiedDictContains(string dict, string key, string value)
    {
        var at = dict.IndexOf(key, StringComparison.Ordinal);
        if (at < 0) return false;
        var start = at + key.Length + 3;
        if (start > dict.Length) return false;
        var end = dict.IndexOf(',', start);
        if (end < 0) end = dict.IndexOf('}', start);
        return end >= 0 && dict[start..end].Trim('"', '\'') == value;
    }
}
