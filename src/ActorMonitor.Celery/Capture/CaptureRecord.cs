using System.Text.Json;

namespace ActorMonitor.Celery.Capture;

/// <summary>
/// One line of the capture format (one AMQP message from the event exchange):
/// {"routing_key", "headers", "properties", "body", "local_received"}.
/// </summary>
public sealed record CaptureRecord(
    string RoutingKey,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyDictionary<string, string> Properties,
    string Body,
    double? LocalReceived)
{
    /// <summary>Parses one capture line; returns null with a reason when the line is not a capture record.</summary>
    public static CaptureRecord? Parse(string line, out string? error)
    {
        error = null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { error = "capture line is not an object"; return null; }
            if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.String)
            {
                error = "capture line has no string 'body'";
                return null;
            }
            double? localReceived = root.TryGetProperty("local_received", out var lr) && lr.ValueKind == JsonValueKind.Number
                ? lr.GetDouble()
                : null;
            var rk = root.TryGetProperty("routing_key", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
            return new CaptureRecord(rk, RawMap(root, "headers"), RawMap(root, "properties"), body.GetString()!, localReceived);
        }
        catch (JsonException ex)
        {
            error = "capture line is not JSON: " + ex.Message;
            return null;
        }
    }

    private static IReadOnlyDictionary<string, string> RawMap(JsonElement root, string name)
    {
        var map = new Dictionary<string, string>();
        if (root.TryGetProperty(name, out var obj) && obj.ValueKind == JsonValueKind.Object)
            foreach (var p in obj.EnumerateObject())
                map[p.Name] = p.Value.GetRawText();
        return map;
    }
}
