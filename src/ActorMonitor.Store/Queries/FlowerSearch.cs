using System.Text.RegularExpressions;

namespace ActorMonitor.Store.Queries;

/// <summary>
/// Flower's task search (flower/utils/search.py, parse_search_terms and satisfies_search_terms),
/// reproduced term for term so a Flower client's search lists the same tasks:
/// <list type="bullet">
/// <item>the text is split on whitespace and commas, keeping double-quoted runs together;</item>
/// <item><c>result:V</c> (the last one wins): V is a substring of the result;</item>
/// <item><c>args:V</c> (repeatable): every V is a substring of the args;</item>
/// <item><c>kwargs:K=V</c> (repeatable, the last per key wins): Flower's stringified_dict_contains_value
/// over the kwargs text: what follows the first occurrence of K plus 3 characters, up to the next
/// comma (else the next <c>}</c>), stripped of quotes, equals V;</item>
/// <item>a term starting with <c>state</c> (Flower tests the prefix without the colon) adds the
/// text after its sixth character to a set of states the task's state must be in;</item>
/// <item>any other term (the last one wins) is a substring of name|uuid|state|worker|args|kwargs|str(result),
/// the present values joined by <c>|</c>, a missing result reading <c>None</c> (kombu's safe_str).</item>
/// </list>
/// A task matches when ANY of the term kinds present matches (Flower's <c>any(terms)</c>); values
/// are stripped of double quotes and spaces at both ends, and empty ones are ignored as Flower's
/// truthiness ignores them. Where Flower would fail on a task (a result, args or kwargs term
/// against a task that has none), the task does not match.
/// </summary>
public sealed record FlowerSearch(
    string? Any,
    string? Result,
    IReadOnlyList<string>? Args,
    IReadOnlyList<KeyValuePair<string, string>>? Kwargs,
    IReadOnlyList<string>? States)
{
    // Flower's search_regexp: splits by whitespace and commas, ignores them inside double quotes.
    private static readonly Regex Terms = new("""(?:[^\s,"]|"(?:\\.|[^"])*")+""", RegexOptions.CultureInvariant);

    /// <summary>True when Flower would not filter at all (no term, or only empty ones).</summary>
    public bool IsEmpty => Any is null && Result is null && Args is null && Kwargs is null && States is null;

    /// <exception cref="FormatException">A kwargs term that is not KEY=VALUE (Flower fails on it).</exception>
    public static FlowerSearch Parse(string? text)
    {
        string? any = null, result = null;
        List<string>? args = null, states = null;
        List<KeyValuePair<string, string>>? kwargs = null;
        if (!string.IsNullOrEmpty(text))
            foreach (Match m in Terms.Matches(text))
            {
                var part = m.Value;
                if (part.Length == 0) continue;
                if (part.StartsWith("result:", StringComparison.Ordinal)) result = Value(part["result:".Length..]);
                else if (part.StartsWith("args:", StringComparison.Ordinal)) (args ??= []).Add(Value(part["args:".Length..]));
                else if (part.StartsWith("kwargs:", StringComparison.Ordinal))
                {
                    var kv = part["kwargs:".Length..].Split('=');
                    if (kv.Length != 2) throw new FormatException($"search term '{part}' must be kwargs:KEY=VALUE");
                    kwargs ??= [];
                    var key = kv[0].Trim();
                    kwargs.RemoveAll(p => p.Key == key);
                    kwargs.Add(KeyValuePair.Create(key, Value(kv[1].Trim())));
                }
                else if (part.StartsWith("state", StringComparison.Ordinal))
                    (states ??= []).Add(Value(part.Length > "state:".Length ? part["state:".Length..] : ""));
                else any = Value(part);
            }
        // Flower tests the truthiness of each: an empty any or result term is no term.
        return new FlowerSearch(any is { Length: > 0 } ? any : null, result is { Length: > 0 } ? result : null, args, kwargs, states);
    }

    // preprocess_search_value: raw_value.strip('" ')
    private static string Value(string raw) => raw.Trim('"', ' ');

    /// <summary>Flower's satisfies_search_terms for one task's stored values.</summary>
    public bool Matches(string uuid, string? name, string? state, string? worker, string? args, string? kwargs, string? result)
    {
        if (IsEmpty) return true;
        if (States is not null && state is not null && States.Contains(state)) return true;
        if (Any is not null && AnyText(uuid, name, state, worker, args, kwargs, result).Contains(Any, StringComparison.Ordinal)) return true;
        if (Result is not null && result is not null && result.Contains(Result, StringComparison.Ordinal)) return true;
        if (Kwargs is not null && kwargs is not null && Kwargs.All(kv => KwargsContain(kwargs, kv.Key, kv.Value))) return true;
        if (Args is not null && args is not null && Args.All(a => args.Contains(a, StringComparison.Ordinal))) return true;
        return false;
    }

    /// <summary>'|'.join(filter(None, [name, uuid, state, worker, args, kwargs, safe_str(result)])).</summary>
    public static string AnyText(string uuid, string? name, string? state, string? worker, string? args, string? kwargs, string? result) =>
        string.Join('|', new[] { name, uuid, state, worker, args, kwargs, result ?? "None" }.Where(s => !string.IsNullOrEmpty(s)));

    /// <summary>Flower's stringified_dict_contains_value(key, value, str_dict).</summary>
    public static bool KwargsContain(string dict, string key, string value)
    {
        var at = dict.IndexOf(key, StringComparison.Ordinal);
        if (at < 0) return false;
        // "+ 3 for key right quote, one for colon and one for space", counted in Python characters.
        var start = CharIndexAfter(dict, at, CodePoints(key) + 3);
        if (start > dict.Length) return false;
        var end = dict.IndexOf(',', start);
        if (end < 0) end = dict.IndexOf('}', start);
        if (end < 0) return false; // Flower's str.index raises here
        return dict[start..end].Trim('"', '\'') == value;
    }

    public static int CodePoints(string s) => s.EnumerateRunes().Count();

    private static int CharIndexAfter(string s, int from, int codePoints)
    {
        var i = from;
        for (var n = 0; n < codePoints; n++)
        {
            if (i >= s.Length) return s.Length + 1;
            i += char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
        }
        return i;
    }
}
