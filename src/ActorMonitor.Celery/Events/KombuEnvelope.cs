using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorMonitor.Celery.Events;

/// <summary>
/// kombu ≥ 5.3 writes datetime, date, time, Decimal, UUID and bytes as
/// <c>{"__type__": T, "__value__": V}</c> and its loads() turns every object with exactly those
/// two keys into the typed value (unknown types raise). We unwrap them to the plain JSON that
/// kombu 5.2 would have sent for the same value: ISO strings for dates and times (as Celery's
/// own eta/expires), the decimal's text, the UUID's canonical text, the bytes as text.
/// </summary>
public static class KombuEnvelope
{
    public static bool MayContain(JsonElement value) =>
        value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && value.GetRawText().Contains("\"__type__\"", StringComparison.Ordinal);

    /// <summary>Returns the value with every envelope unwrapped; throws <see cref="FormatException"/> for an unknown type.</summary>
    public static JsonNode? Unwrap(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count == 2 && obj.ContainsKey("__type__") && obj.ContainsKey("__value__"):
                return Decode(obj["__type__"]?.GetValue<string>(), obj["__value__"]);
            case JsonObject obj:
                foreach (var key in obj.Select(kv => kv.Key).ToList())
                    obj[key] = Unwrap(obj[key]?.DeepClone());
                return obj;
            case JsonArray arr:
                for (var i = 0; i < arr.Count; i++)
                    arr[i] = Unwrap(arr[i]?.DeepClone());
                return arr;
            default:
                return node;
        }
    }

    private static JsonNode? Decode(string? type, JsonNode? value)
    {
        switch (type)
        {
            case "datetime" or "date" or "time" or "decimal" or "bytes":
                return JsonValue.Create(value?.GetValue<string>());
            case "base64":
            {
                var bytes = Convert.FromBase64String(value?.GetValue<string>() ?? "");
                try
                {
                    return JsonValue.Create(new UTF8Encoding(false, true).GetString(bytes));
                }
                catch (DecoderFallbackException)
                {
                    return JsonValue.Create(value?.GetValue<string>());
                }
            }
            case "uuid":
                var hex = value?["hex"]?.GetValue<string>() ?? throw new FormatException("uuid envelope without 'hex'");
                return JsonValue.Create(Guid.ParseExact(hex, "N").ToString("D"));
            default:
                throw new FormatException($"unsupported kombu type '{type}'");
        }
    }
}
