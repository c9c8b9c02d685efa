using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ActorMonitor.Celery.Events;

/// <summary>
/// Field values are kept as the raw JSON text they arrived in, so that a value Celery copies
/// verbatim (args, result, loadavg, a custom field) is written back with its original type.
/// </summary>
public static class RawJson
{
    public const string Null = "null";

    /// <summary>Escapes only what JSON requires, so raw texts stay readable ("+00:00", not "\u002B00:00").</summary>
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string String(string value) => JsonSerializer.Serialize(value, Options);

    /// <summary>The .NET string of a JSON string value, or null for any other JSON value.</summary>
    public static string? AsString(string? raw)
    {
        if (raw is null || raw.Length == 0 || raw[0] != '"') return null;
        // Raw values are well-formed JSON: without an escape, the text between the quotes is the string.
        if (raw.Length >= 2 && raw[^1] == '"' && raw.IndexOf('\\', 1) < 0) return raw[1..^1];
        return JsonSerializer.Deserialize<string>(raw);
    }

    /// <summary>The number of a JSON number value, or null for any other JSON value.</summary>
    public static double? AsNumber(string? raw)
    {
        if (raw is null || raw.Length == 0) return null;
        var c = raw[0];
        if (c != '-' && (c < '0' || c > '9')) return null;
        return FastDecimal(raw) ?? (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null);
    }

    private static readonly double[] PowersOfTen = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>
    /// Timestamps and runtimes, read for every row and event: at most 15 digits, no exponent. Their
    /// digits (exact in a long) over a power of ten up to 1e15 (exact too) is one correctly rounded
    /// division, so the result is the double.Parse one; anything else is left to double.Parse.
    /// </summary>
    private static double? FastDecimal(string raw)
    {
        var i = raw[0] == '-' ? 1 : 0;
        long digits = 0;
        int count = 0, fraction = -1;
        for (; i < raw.Length; i++)
        {
            var ch = raw[i];
            if ((uint)(ch - '0') <= 9)
            {
                if (++count > 15) return null;
                digits = digits * 10 + (ch - '0');
                if (fraction >= 0) fraction++;
            }
            else if (ch == '.' && fraction < 0) fraction = 0;
            else return null;
        }
        if (count == 0) return null;
        var value = fraction > 0 ? digits / PowersOfTen[fraction] : digits;
        return raw[0] == '-' ? -value : value;
    }

    /// <summary>
    /// Python's <c>str()</c> of the value json.loads would give: Celery builds a worker's id as
    /// <c>f"{hostname}.{pid}"</c> and that id orders the task heap.
    /// </summary>
    public static string PythonStr(string? raw)
    {
        if (raw is null) return "None";
        using var doc = JsonDocument.Parse(raw);
        return PythonRepr(doc.RootElement, topLevel: true);
    }

    private static string PythonRepr(JsonElement e, bool topLevel)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Null: return "None";
            case JsonValueKind.True: return "True";
            case JsonValueKind.False: return "False";
            case JsonValueKind.String:
                var s = e.GetString()!;
                return topLevel ? s : "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
            case JsonValueKind.Number:
                var text = e.GetRawText();
                if (text.IndexOfAny(['.', 'e', 'E']) < 0) return text;
                return PythonFloatRepr(e.GetDouble());
            case JsonValueKind.Array:
                return "[" + string.Join(", ", e.EnumerateArray().Select(x => PythonRepr(x, false))) + "]";
            default:
                return "{" + string.Join(", ", e.EnumerateObject().Select(p => "'" + p.Name + "': " + PythonRepr(p.Value, false))) + "}";
        }
    }

    /// <summary>
    /// Python's float repr: the shortest round-trip digits, positional when the decimal exponent
    /// is in [-4, 16), else scientific with a signed, at least two-digit exponent.
    /// </summary>
    public static string PythonFloatRepr(double d)
    {
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        var r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        var e = 0;
        var ePos = r.IndexOf('E');
        if (ePos >= 0)
        {
            e = int.Parse(r[(ePos + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ePos];
        }
        var point = r.IndexOf('.');
        var intLen = point < 0 ? r.Length : point;
        var digits = r.Replace(".", "");
        while (digits.Length > 1 && digits[0] == '0')
        {
            digits = digits[1..];
            intLen--;
        }
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var exp10 = intLen - 1 + e; // decimal exponent of the first digit
        string text;
        if (exp10 is >= -4 and < 16)
        {
            if (exp10 >= 0)
            {
                var padded = digits.PadRight(exp10 + 1, '0');
                var frac = padded.Length > exp10 + 1 ? padded[(exp10 + 1)..] : "0";
                text = padded[..(exp10 + 1)] + "." + frac;
            }
            else
            {
                text = "0." + new string('0', -exp10 - 1) + digits;
            }
        }
        else
        {
            text = digits[0] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + (exp10 < 0 ? "-" : "+") +
                   Math.Abs(exp10).ToString("00", CultureInfo.InvariantCulture);
        }
        return d < 0 ? "-" + text : text;
    }
}
