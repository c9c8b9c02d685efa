using System.Collections;
using System.Globalization;
using System.Text;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.Dispatch;

/// <summary>A value written as-is: JSON text kept from elsewhere (a capture, a raw field).</summary>
public sealed record RawJsonText(string Json);

/// <summary>
/// Python's json.dumps with its defaults, as kombu serializes events: separators ", " and ": ",
/// ensure_ascii (every character outside space..~ as \uXXXX, lowercase hex, astral characters as
/// surrogate pairs), floats as repr, keys in insertion order.
/// </summary>
public static class PythonJson
{
    public static string Dumps(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return sb.ToString();
    }

    public static void Write(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case string s: WriteString(sb, s); break;
            case RawJsonText raw: sb.Append(raw.Json); break;
            case double d: sb.Append(double.IsFinite(d) ? RawJson.PythonFloatRepr(d) : throw new ArgumentException("not a finite number")); break;
            case float f: Write(sb, (double)f); break;
            case decimal m: sb.Append(m.ToString(CultureInfo.InvariantCulture)); break;
            case int or long or short or byte or uint or ulong or ushort or sbyte:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
            {
                sb.Append('{');
                var first = true;
                foreach (var (k, v) in pairs)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    WriteString(sb, k);
                    sb.Append(": ");
                    Write(sb, v);
                }
                sb.Append('}');
                break;
            }
            case IEnumerable items:
            {
                sb.Append('[');
                var first = true;
                foreach (var item in items)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    Write(sb, item);
                }
                sb.Append(']');
                break;
            }
            default:
                throw new ArgumentException($"cannot serialize a {value.GetType().Name} as a Celery event value");
        }
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < ' ' || c > '~') sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
