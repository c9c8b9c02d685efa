using System.Text;
using System.Text.Json;

namespace ActorMonitor.Celery.Dispatch;

/// <summary>Python's repr() of JSON values, for the argsrepr and kwargsrepr headers that Flower and Celery's logs show.</summary>
public static class PythonRepr
{
    public static string Of(JsonElement value, bool asTuple = false)
    {
        var sb = new StringBuilder();
        Write(sb, value, asTuple);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonElement v, bool asTuple = false)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Array:
                var items = v.EnumerateArray().ToList();
                sb.Append(asTuple ? '(' : '[');
                for (var i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(sb, items[i]);
                }
                if (asTuple && items.Count == 1) sb.Append(',');
                sb.Append(asTuple ? ')' : ']');
                break;
            case JsonValueKind.Object:
                sb.Append('{');
                var first = true;
                foreach (var p in v.EnumerateObject())
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    Str(sb, p.Name);
                    sb.Append(": ");
                    Write(sb, p.Value);
                }
                sb.Append('}');
                break;
            case JsonValueKind.String: Str(sb, v.GetString()!); break;
            case JsonValueKind.True: sb.Append("True"); break;
            case JsonValueKind.False: sb.Append("False"); break;
            case JsonValueKind.Null: sb.Append("None"); break;
            default: sb.Append(v.GetRawText()); break;
        }
    }

    private static void Str(StringBuilder sb, string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (char.IsControl(c)) sb.Append($"\\x{(int)c:x2}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append(quote);
    }
}
