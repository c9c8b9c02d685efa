using System.Text.Json;

namespace ActorMonitor.Tests.Shared;

/// <summary>
/// Field-by-field comparison of a state JSON with Celery's expected state, as the oracle's
/// compare_state.py does: numbers as floats within 1e-6, everything else exactly.
/// </summary>
public static class StateComparison
{
    private static readonly string[] Keys = ["event_count", "task_count", "task_types", "tasks", "workers", "alive_workers", "tasks_by_time"];

    /// <summary>
    /// The differences of a state read from several receivers, split as the README's "Several
    /// receivers" says: what depends on the order in which one task's events reached its entity
    /// (a task's clock and timestamp, written by the last event applied, and the state of a task
    /// that was retried, as RETRY bypasses Celery's precedence), and everything else. Heartbeats and
    /// "alive" are wall-clock figures of a run and are left out.
    /// </summary>
    public static (List<string> OrderDependent, List<string> Others) SeveralReceivers(JsonElement expected, JsonElement actual)
    {
        var diffs = Differences(expected, actual, new HashSet<string> { "heartbeats", "alive" },
            ["event_count", "task_count", "task_types", "tasks", "workers"]);
        var orderDependent = diffs.Where(d => OrderDependent(d, expected)).ToList();
        return (orderDependent, diffs.Except(orderDependent).ToList());
    }

    private static bool OrderDependent(string diff, JsonElement expected)
    {
        // "tasks[uuid].field: expected ..., got ..."
        if (!diff.StartsWith("tasks[")) return false;
        var uuid = diff[6..diff.IndexOf(']')];
        var field = diff[(diff.IndexOf("].") + 2)..diff.IndexOf(':')];
        if (field is "clock" or "timestamp") return true;
        return field == "state" && expected.GetProperty("tasks").GetProperty(uuid).TryGetProperty("retried", out var r)
            && r.ValueKind == JsonValueKind.Number;
    }

    public static List<string> Differences(JsonElement expected, JsonElement actual, ISet<string>? ignoredFields = null, IEnumerable<string>? keys = null)
    {
        var diffs = new List<string>();
        foreach (var key in keys ?? Keys)
        {
            var e = expected.TryGetProperty(key, out var ev) ? ev : default;
            var g = actual.TryGetProperty(key, out var gv) ? gv : default;
            if (key is "tasks" or "workers")
            {
                var eIds = Ids(e);
                var gIds = Ids(g);
                foreach (var id in eIds.Keys.Union(gIds.Keys).Order(StringComparer.Ordinal))
                {
                    if (!gIds.TryGetValue(id, out var gObj)) { diffs.Add($"{key}[{id}]: missing"); continue; }
                    if (!eIds.TryGetValue(id, out var eObj)) { diffs.Add($"{key}[{id}]: unexpected"); continue; }
                    var fields = eObj.EnumerateObject().Select(p => p.Name).Union(gObj.EnumerateObject().Select(p => p.Name));
                    foreach (var f in fields.Order(StringComparer.Ordinal))
                    {
                        if (ignoredFields?.Contains(f) == true) continue;
                        var has = gObj.TryGetProperty(f, out var gf);
                        eObj.TryGetProperty(f, out var ef);
                        if (!has || !Same(ef, gf)) diffs.Add($"{key}[{id}].{f}: expected {Show(ef)}, got {(has ? Show(gf) : "<absent>")}");
                    }
                }
            }
            else if (!Same(e, g))
            {
                diffs.Add($"{key}: expected {Truncate(Show(e))}, got {Truncate(Show(g))}");
            }
        }
        return diffs;
    }

    private static Dictionary<string, JsonElement> Ids(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value) : [];

    public static bool Same(JsonElement a, JsonElement b)
    {
        var aBool = a.ValueKind is JsonValueKind.True or JsonValueKind.False;
        var bBool = b.ValueKind is JsonValueKind.True or JsonValueKind.False;
        if (aBool || bBool) return a.ValueKind == b.ValueKind;
        if (a.ValueKind == JsonValueKind.Number && b.ValueKind == JsonValueKind.Number)
            return Math.Abs(a.GetDouble() - b.GetDouble()) <= 1e-6;
        if (a.ValueKind != b.ValueKind) return false;
        return a.ValueKind switch
        {
            JsonValueKind.Array => a.GetArrayLength() == b.GetArrayLength() &&
                                   a.EnumerateArray().Zip(b.EnumerateArray()).All(x => Same(x.Item1, x.Item2)),
            JsonValueKind.Object => a.EnumerateObject().Select(p => p.Name).Order().SequenceEqual(b.EnumerateObject().Select(p => p.Name).Order()) &&
                                    a.EnumerateObject().All(p => Same(p.Value, b.GetProperty(p.Name))),
            JsonValueKind.String => a.GetString() == b.GetString(),
            _ => true, // null, undefined
        };
    }

    private static string Show(JsonElement e) => e.ValueKind == JsonValueKind.Undefined ? "<absent>" : e.GetRawText();

    private static string Truncate(string s) => s.Length > 200 ? s[..200] + "…" : s;
}
