using System.Text;
using System.Text.Json;

namespace ActorMonitor.Celery.Capture;

/// <summary>
/// One line of the capture format (one AMQP message from the event exchange):
/// {"routing_key", "headers", "properties", "body", "local_received"}. Headers and properties
/// stay raw JSON objects; the body is the message body's UTF-8 bytes.
/// </summary>
public sealed record CaptureRecord(
    string RoutingKey,
    string HeadersJson,
    string PropertiesJson,
    ReadOnlyMemory<byte> Body,
    double? LocalReceived)
{
    /// <summary>The record as one capture line (without the line break).</summary>
    public string ToJsonLine()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("routing_key", RoutingKey);
            w.WritePropertyName("headers");
            w.WriteRawValue(HeadersJson);
            w.WritePropertyName("properties");
            w.WriteRawValue(PropertiesJson);
            w.WriteString("body", Encoding.UTF8.GetString(Body.Span));
            if (LocalReceived is { } lr) w.WriteNumber("local_received", lr);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static CaptureRecord? Parse(string line, out string? error) => Parse(Encoding.UTF8.GetBytes(line), out error);

    /// <summary>Parses one capture line; returns null with a reason when the line is not a capture record.</summary>
    public static CaptureRecord? Parse(ReadOnlySpan<byte> line, out string? error)
    {
        error = null;
        string routingKey = "", headers = "{}", properties = "{}";
        ReadOnlyMemory<byte>? body = null;
        double? localReceived = null;
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "capture line is not a JSON object";
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("body"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String) { error = "capture line has no string 'body'"; return null; }
                    body = Unescaped(ref reader);
                }
                else if (reader.ValueTextEquals("routing_key"u8))
                {
                    reader.Read();
                    routingKey = reader.TokenType == JsonTokenType.String ? reader.GetString()! : "";
                }
                else if (reader.ValueTextEquals("local_received"u8))
                {
                    reader.Read();
                    localReceived = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var d) && double.IsFinite(d) ? d : null;
                }
                else if (reader.ValueTextEquals("headers"u8) || reader.ValueTextEquals("properties"u8))
                {
                    var isHeaders = reader.ValueTextEquals("headers"u8);
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    var raw = Encoding.UTF8.GetString(line[start..(int)reader.BytesConsumed]);
                    if (isHeaders) headers = raw;
                    else properties = raw;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (body is null) { error = "capture line has no string 'body'"; return null; }
            return new CaptureRecord(routingKey, headers, properties, body.Value, localReceived);
        }
        catch (JsonException ex)
        {
            error = "capture line is not JSON: " + ex.Message;
            return null;
        }
    }

    private static ReadOnlyMemory<byte> Unescaped(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped) return reader.ValueSpan.ToArray();
        var buffer = new byte[reader.ValueSpan.Length]; // unescaping never makes it longer
        return buffer.AsMemory(0, reader.CopyString(buffer));
    }
}
