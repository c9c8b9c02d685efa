using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorMonitor.Celery.Events;

/// <summary>
/// Decodes a message body the way Celery's EventReceiver reads it (an object, or a list of
/// objects for <c>&lt;group&gt;.multi</c>, whatever the routing key), and refuses what would make
/// Celery's State crash or store garbage.
/// </summary>
public sealed class EventDecoder
{
    public const int MaxIdLength = 255;

    // Keys that are read-only properties of Celery's Worker (setattr raises) or would replace its heartbeat list.
    private static readonly HashSet<string> ReservedWorkerKeys = ["id", "alive", "status_string", "heartbeat_expires", "heartbeats"];

    // Keys that would replace a Task's links to other objects with plain values.
    private static readonly HashSet<string> ReservedTaskKeys = ["worker", "children"];

    private readonly JsonDocumentOptions _options;

    public EventDecoder(int maxBodyBytes = 4 * 1024 * 1024, int maxDepth = 32)
    {
        MaxBodyBytes = maxBodyBytes;
        _options = new JsonDocumentOptions { MaxDepth = maxDepth };
    }

    public int MaxBodyBytes { get; }

    public DecodedMessage Decode(string body) => Decode(Encoding.UTF8.GetBytes(body));

    public DecodedMessage Decode(ReadOnlyMemory<byte> body)
    {
        if (body.Length > MaxBodyBytes)
            return DecodedMessage.Rejected(RejectionCause.TooLarge, $"body of {body.Length} bytes exceeds {MaxBodyBytes}");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, _options);
        }
        catch (JsonException ex)
        {
            return DecodedMessage.Rejected(RejectionCause.NotJson, ex.Message);
        }

        using (doc)
        {
            var root = doc.RootElement;
            switch (root.ValueKind)
            {
                case JsonValueKind.Object:
                {
                    var (ev, rejection) = DecodeEvent(root);
                    return ev is not null ? new DecodedMessage([ev], []) : new DecodedMessage([], [rejection!]);
                }
                case JsonValueKind.Array:
                {
                    var events = new List<CeleryEvent>(root.GetArrayLength());
                    List<Rejection>? rejections = null;
                    foreach (var item in root.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.Object)
                        {
                            (rejections ??= []).Add(new Rejection(RejectionCause.NotAnEvent, $"list item is {Describe(item.ValueKind)}"));
                            continue;
                        }
                        var (ev, rejection) = DecodeEvent(item);
                        if (ev is not null) events.Add(ev);
                        else (rejections ??= []).Add(rejection!);
                    }
                    return new DecodedMessage(events, (IReadOnlyList<Rejection>?)rejections ?? []);
                }
                default:
                    return DecodedMessage.Rejected(RejectionCause.NotAnEvent, $"body is {Describe(root.ValueKind)}");
            }
        }
    }

    private static (CeleryEvent?, Rejection?) DecodeEvent(JsonElement obj)
    {
        string? type = null, hostname = null, uuid = null;
        double? timestamp = null, utcoffset = null;
        long? clock = null;
        bool hasHostname = false, hasUuid = false, hasTimestamp = false;
        var fields = new List<KeyValuePair<string, string>>();

        foreach (var p in obj.EnumerateObject())
        {
            if (!AllFinite(p.Value))
                return Reject(RejectionCause.NonFiniteNumber, $"field '{p.Name}' holds a number that is not finite");
            var v = p.Value;
            if (KombuEnvelope.MayContain(v))
            {
                try
                {
                    v = JsonSerializer.SerializeToElement(KombuEnvelope.Unwrap(JsonNode.Parse(v.GetRawText())), RawJson.Options);
                }
                catch (Exception ex) when (ex is FormatException or InvalidOperationException or JsonException)
                {
                    return Reject(RejectionCause.UnsupportedKombuType, $"field '{p.Name}': {ex.Message}");
                }
            }
            switch (p.Name)
            {
                case "type":
                    if (v.ValueKind != JsonValueKind.String) return Reject(RejectionCause.MissingType, $"'type' is {Describe(v.ValueKind)}");
                    type = v.GetString();
                    break;
                case "hostname":
                    hasHostname = true;
                    if (v.ValueKind == JsonValueKind.String) hostname = v.GetString();
                    else return Reject(RejectionCause.IllTypedField, $"'hostname' is {Describe(v.ValueKind)}");
                    break;
                case "uuid":
                    hasUuid = true;
                    if (v.ValueKind == JsonValueKind.String) uuid = v.GetString();
                    else return Reject(RejectionCause.IllTypedField, $"'uuid' is {Describe(v.ValueKind)}");
                    break;
                case "timestamp":
                    hasTimestamp = true;
                    if (v.ValueKind != JsonValueKind.Number) return Reject(RejectionCause.IllTypedField, $"'timestamp' is {Describe(v.ValueKind)}");
                    timestamp = v.GetDouble();
                    break;
                case "utcoffset":
                    if (v.ValueKind != JsonValueKind.Number) return Reject(RejectionCause.IllTypedField, $"'utcoffset' is {Describe(v.ValueKind)}");
                    utcoffset = v.GetDouble();
                    break;
                case "clock":
                    if (v.ValueKind == JsonValueKind.Null) return Reject(RejectionCause.NullClock, "'clock' is null");
                    if (v.ValueKind != JsonValueKind.Number) return Reject(RejectionCause.IllTypedField, $"'clock' is {Describe(v.ValueKind)}");
                    if (v.TryGetInt64(out var c)) clock = c;
                    else
                    {
                        var d = v.GetDouble();
                        if (d != Math.Floor(d) || Math.Abs(d) > long.MaxValue / 2.0)
                            return Reject(RejectionCause.IllTypedField, "'clock' is not an integer");
                        clock = (long)d;
                    }
                    break;
                default:
                    fields.Add(new(p.Name, v.GetRawText()));
                    break;
            }
        }

        if (type is null) return Reject(RejectionCause.MissingType, "no 'type'");
        var ev = new CeleryEvent(type, fields)
        {
            Hostname = hostname, Uuid = uuid, Timestamp = timestamp, UtcOffset = utcoffset, Clock = clock,
        };

        if (ev.IsTaskEvent || ev.IsWorkerEvent)
        {
            if (!hasHostname) return Reject(RejectionCause.MissingField, $"{type} without 'hostname'");
            if (hostname!.Length == 0) return Reject(RejectionCause.IllTypedField, $"{type} with an empty 'hostname'");
            if (hostname.Length > MaxIdLength) return Reject(RejectionCause.IdTooLong, $"'hostname' of {hostname.Length} characters");
            if (!hasTimestamp) return Reject(RejectionCause.MissingField, $"{type} without 'timestamp'");
        }
        if (ev.IsTaskEvent)
        {
            if (!hasUuid) return Reject(RejectionCause.MissingField, $"{type} without 'uuid'");
            if (uuid!.Length == 0) return Reject(RejectionCause.IllTypedField, $"{type} with an empty 'uuid'");
            if (uuid.Length > MaxIdLength) return Reject(RejectionCause.IdTooLong, $"'uuid' of {uuid.Length} characters");
            foreach (var kv in fields)
            {
                if (ReservedTaskKeys.Contains(kv.Key)) return Reject(RejectionCause.ReservedField, $"{type} carries '{kv.Key}'");
                if ((kv.Key == "name" || kv.Key == "parent_id") && kv.Value[0] != '"' && kv.Value != RawJson.Null)
                    return Reject(RejectionCause.IllTypedField, $"'{kv.Key}' is not a string");
            }
        }
        else if (ev.IsWorkerEvent)
        {
            foreach (var kv in fields)
            {
                if (ReservedWorkerKeys.Contains(kv.Key)) return Reject(RejectionCause.ReservedField, $"{type} carries '{kv.Key}'");
                if (kv.Key == "freq" && RawJson.AsNumber(kv.Value) is null)
                    return Reject(RejectionCause.IllTypedField, "'freq' is not a number");
            }
        }
        return (ev, null);

        static (CeleryEvent?, Rejection?) Reject(RejectionCause cause, string detail) => (null, new Rejection(cause, detail));
    }

    private static bool AllFinite(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                return e.TryGetDouble(out var d) && double.IsFinite(d);
            case JsonValueKind.Array:
                foreach (var x in e.EnumerateArray())
                    if (!AllFinite(x)) return false;
                return true;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                    if (!AllFinite(p.Value)) return false;
                return true;
            default:
                return true;
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "missing",
    };
}
