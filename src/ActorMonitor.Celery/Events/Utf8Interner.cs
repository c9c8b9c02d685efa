using System.Text;

namespace ActorMonitor.Celery.Events;

/// <summary>
/// Returns one shared string for short UTF-8 texts that repeat in every event (field names,
/// "0", "{}", queue and task names), looked up without allocating. Bounded; not thread-safe.
/// </summary>
public sealed class Utf8Interner(int maxEntries = 8192, int maxLength = 48)
{
    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup => _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > maxLength) return Encoding.UTF8.GetString(utf8);
        Span<char> chars = stackalloc char[maxLength];
        var n = Encoding.UTF8.GetChars(utf8, chars);
        var lookup = Lookup;
        if (lookup.TryGetValue(chars[..n], out var s)) return s;
        s = new string(chars[..n]);
        if (_strings.Count < maxEntries) _strings[s] = s;
        return s;
    }
}
