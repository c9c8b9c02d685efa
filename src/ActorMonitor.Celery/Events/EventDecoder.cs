using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorMonitor.Celery.Events;

/// <summary>
/// Decodes a message body the way Celery's EventReceiver reads it (an object, or a list of
/// objects for <c>&lt;group&gt;.multi</c>, whatever the routing key), and refuses what would make
/// Celery's State crash or store garbage. One forward pass of a Utf8JsonReader: typed keys are
/// parsed, every other value is kept as its raw JSON text. Nothing is returned from a body
/// that is not valid JSON as a whole, as json.loads would refuse it. A msgpack body is first
/// rewritten as the JSON kombu would have sent (<see cref="MsgpackToJson"/>); pickle, YAML and
/// other content types are refused unread. Not thread-safe: one per source.
/// Its length is the protocol's cases in one forward pass over the bytes, which is the point.
/// </summary>
public sealed class EventDecoder
{
    public const int MaxIdLength = 255;

    // Keys that are read-only properties of Celery's Worker (setattr raises) or would replace its heartbeat list.
    private static readonly HashSet<string> ReservedWorkerKeys = ["id", "alive", "status_string", "heartbeat_expires", "heartbeats"];

    // Keys that would replace a Task's links to other objects with plain values.
    private static readonly HashSet<string> ReservedTaskKeys = ["worker", "children"];

    private readonly JsonReaderOptions _options;
    private readonly Utf8Interner _interner = new();
    private readonly List<KeyValuePair<string, string>> _fields = new(32); // reused: a decoder serves one thread
    private MsgpackToJson? _msgpack;

    public EventDecoder(int maxBodyBytes = 4 * 1024 * 1024, int maxDepth = 32)
    {
        MaxBodyBytes = maxBodyBytes;
        _options = new JsonReaderOptions { MaxDepth = maxDepth };
    }

    public int MaxBodyBytes { get; }

    public DecodedMessage Decode(string body) => Decode(Encoding.UTF8.GetBytes(body));

    public DecodedMessage Decode(ReadOnlyMemory<byte> body) => Decode(body.Span);

    /// <summary>Decodes a JSON body (what a message without a content type is taken for).</summary>
    public DecodedMessage Decode(ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxBodyBytes) return TooLarge(body.Length);
        // JSON is UTF-8 (RFC 8259); the reader would hand invalid bytes on as U+FFFD.
        if (!System.Text.Unicode.Utf8.IsValid(body))
            return DecodedMessage.Rejected(RejectionCause.NotUtf8, $"body of {body.Length} bytes is not valid UTF-8") with { BodyHash = ContentHash.Of(body) };
        return DecodeJson(body) with { BodyHash = ContentHash.Of(body) };
    }

    /// <summary>
    /// Decodes a body by its AMQP content type: JSON (or none) and msgpack are read into the same
    /// events; pickle, YAML and any other content type are refused, counted by cause, and never
    /// deserialized.
    /// </summary>
    public DecodedMessage Decode(ReadOnlyMemory<byte> body, string? contentType)
    {
        var format = BodyFormats.Of(contentType);
        if (format == BodyFormat.Json) return Decode(body.Span);
        if (body.Length > MaxBodyBytes) return TooLarge(body.Length);
        var decoded = format switch
        {
            BodyFormat.Msgpack => DecodeMsgpack(body),
            BodyFormat.Pickle => DecodedMessage.Rejected(RejectionCause.RefusedPickle, $"a {contentType} (pickle) body is never unpickled"),
            BodyFormat.Yaml => DecodedMessage.Rejected(RejectionCause.RefusedYaml, $"a {contentType} (YAML) body is never loaded"),
            _ => DecodedMessage.Rejected(RejectionCause.UnknownContentType, $"content type '{contentType}' is neither JSON nor msgpack; the body is not read"),
        };
        return decoded with { BodyHash = ContentHash.Of(body.Span) };
    }

    private DecodedMessage TooLarge(int length) =>
        DecodedMessage.Rejected(RejectionCause.TooLarge, $"body of {length} bytes exceeds {MaxBodyBytes}");

    private DecodedMessage DecodeMsgpack(ReadOnlyMemory<byte> body)
    {
        _msgpack ??= new MsgpackToJson(_options.MaxDepth);
        List<Rejection>? refused = null;
        if (_msgpack.Convert(body, ref refused) is { } whole) return new DecodedMessage([], [whole]);
        if (_msgpack.Json.IsEmpty) return new DecodedMessage([], refused!); // the one event was refused
        var decoded = DecodeJson(_msgpack.Json);
        if (refused is null) return decoded;
        refused.AddRange(decoded.Rejections);
        return decoded with { Rejections = refused };
    }

    private DecodedMessage DecodeJson(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, _options);
            if (!reader.Read()) return DecodedMessage.Rejected(RejectionCause.NotJson, "empty body");
            DecodedMessage result;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                {
                    var (ev, rejection) = ReadEvent(ref reader, body);
                    result = ev is not null ? new DecodedMessage([ev], []) : new DecodedMessage([], [rejection!]);
                    break;
                }
                case JsonTokenType.StartArray:
                {
                    var events = new List<CeleryEvent>();
                    List<Rejection>? rejections = null;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            (rejections ??= []).Add(new Rejection(RejectionCause.NotAnEvent, $"list item is {Describe(reader.TokenType)}"));
                            reader.Skip();
                            continue;
                        }
                        var (ev, rejection) = ReadEvent(ref reader, body);
                        if (ev is not null) events.Add(ev);
                        else (rejections ??= []).Add(rejection!);
                    }
                    result = new DecodedMessage(events, (IReadOnlyList<Rejection>?)rejections ?? []);
                    break;
                }
                default:
                    reader.Skip();
                    result = DecodedMessage.Rejected(RejectionCause.NotAnEvent, $"body is {Describe(reader.TokenType)}");
                    break;
            }
            if (reader.Read()) // anything after the one value makes the reader throw; this is only for safety
                return DecodedMessage.Rejected(RejectionCause.NotJson, "content after the JSON value");
            return result;
        }
        catch (JsonException ex)
        {
            return DecodedMessage.Rejected(RejectionCause.NotJson, ex.Message);
        }
    }

    /// <summary>Reads one event object (the reader is on its StartObject) and leaves the reader on its EndObject.</summary>
    private (CeleryEvent?, Rejection?) ReadEvent(ref Utf8JsonReader reader, ReadOnlySpan<byte> body)
    {
        string? type = null, hostname = null, uuid = null;
        double? timestamp = null, utcoffset = null;
        long? clock = null;
        bool hasHostname = false, hasUuid = false, hasTimestamp = false;
        Rejection? rejection = null;
        var fields = _fields;
        fields.Clear();
        var objectStart = (int)reader.TokenStartIndex;

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = Name(ref reader);
            reader.Read();
            var token = reader.TokenType;
            var start = (int)reader.TokenStartIndex;
            switch (name)
            {
                case "type":
                    if (token == JsonTokenType.String) type = reader.ValueIsEscaped ? reader.GetString() : _interner.Get(reader.ValueSpan);
                    else rejection ??= new(RejectionCause.MissingType, $"'type' is {Describe(token)}");
                    break;
                case "hostname":
                    hasHostname = true;
                    if (token == JsonTokenType.String) hostname = reader.ValueIsEscaped ? reader.GetString() : _interner.Get(reader.ValueSpan);
                    else rejection ??= new(RejectionCause.IllTypedField, $"'hostname' is {Describe(token)}");
                    break;
                case "uuid":
                    hasUuid = true;
                    if (token == JsonTokenType.String) uuid = reader.GetString();
                    else if (token == JsonTokenType.StartObject && Envelope(ref reader, body, start, name) is var (raw, r))
                    {
                        if (r is not null) rejection ??= r;
                        else if (RawJson.AsString(raw) is { } unwrapped) uuid = unwrapped;
                        else rejection ??= new(RejectionCause.IllTypedField, "'uuid' is not a string");
                    }
                    else rejection ??= new(RejectionCause.IllTypedField, $"'uuid' is {Describe(token)}");
                    break;
                case "timestamp":
                    hasTimestamp = true;
                    if (Number(ref reader, name, ref rejection) is { } ts) timestamp = ts;
                    break;
                case "utcoffset":
                    if (Number(ref reader, name, ref rejection) is { } off) utcoffset = off;
                    break;
                case "clock":
                    if (token == JsonTokenType.Null) rejection ??= new(RejectionCause.NullClock, "'clock' is null");
                    else if (Number(ref reader, name, ref rejection) is { } c)
                    {
                        if (reader.TryGetInt64(out var l)) clock = l;
                        else if (c == Math.Floor(c) && Math.Abs(c) < long.MaxValue / 2.0) clock = (long)c;
                        else rejection ??= new(RejectionCause.IllTypedField, "'clock' is not an integer");
                    }
                    break;
                default:
                    string value;
                    if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        var (raw, r) = Envelope(ref reader, body, start, name);
                        if (r is not null) rejection ??= r;
                        value = raw;
                    }
                    else
                    {
                        if (token == JsonTokenType.Number && !(reader.TryGetDouble(out var d) && double.IsFinite(d)))
                            rejection ??= new(RejectionCause.NonFiniteNumber, $"field '{name}' holds a number that is not finite");
                        value = token switch
                        {
                            JsonTokenType.Null => RawJson.Null,
                            JsonTokenType.True => "true",
                            JsonTokenType.False => "false",
                            _ => _interner.Get(body[start..(int)reader.BytesConsumed]),
                        };
                    }
                    SetField(fields, name, value);
                    break;
            }
            // A typed key whose value is a container: move past it.
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
        }

        if (rejection is not null) return (null, rejection);
        if (type is null) return Reject(RejectionCause.MissingType, "no 'type'");
        var ev = new CeleryEvent(type, fields.ToArray())
        {
            Hostname = hostname, Uuid = uuid, Timestamp = timestamp, UtcOffset = utcoffset, Clock = clock,
            Id = ContentHash.Of(body[objectStart..(int)reader.BytesConsumed]),
        };
        return Validate(ev, hasHostname, hasUuid, hasTimestamp);
    }

    private static (CeleryEvent?, Rejection?) Validate(CeleryEvent ev, bool hasHostname, bool hasUuid, bool hasTimestamp)
    {
        var type = ev.Type;
        if (ev.IsTaskEvent || ev.IsWorkerEvent)
        {
            if (!hasHostname) return Reject(RejectionCause.MissingField, $"{type} without 'hostname'");
            if (ev.Hostname!.Length == 0) return Reject(RejectionCause.IllTypedField, $"{type} with an empty 'hostname'");
            if (ev.Hostname.Length > MaxIdLength) return Reject(RejectionCause.IdTooLong, $"'hostname' of {ev.Hostname.Length} characters");
            if (ControlAt(ev.Hostname) is { } h) return Reject(RejectionCause.ControlCharacterInId, $"'hostname' holds U+{(int)ev.Hostname[h]:X4} at {h}");
            if (!hasTimestamp) return Reject(RejectionCause.MissingField, $"{type} without 'timestamp'");
        }

        if (ev.IsTaskEvent)
        {
            if (!hasUuid) return Reject(RejectionCause.MissingField, $"{type} without 'uuid'");
            if (ev.Uuid!.Length == 0) return Reject(RejectionCause.IllTypedField, $"{type} with an empty 'uuid'");
            if (ev.Uuid.Length > MaxIdLength) return Reject(RejectionCause.IdTooLong, $"'uuid' of {ev.Uuid.Length} characters");
            if (ControlAt(ev.Uuid) is { } u) return Reject(RejectionCause.ControlCharacterInId, $"'uuid' holds U+{(int)ev.Uuid[u]:X4} at {u}");
            foreach (var kv in ev.Fields)
            {
                if (ReservedTaskKeys.Contains(kv.Key)) return Reject(RejectionCause.ReservedField, $"{type} carries '{kv.Key}'");
                if ((kv.Key == "name" || kv.Key == "parent_id") && kv.Value[0] != '"' && kv.Value != RawJson.Null)
                    return Reject(RejectionCause.IllTypedField, $"'{kv.Key}' is not a string");
            }
        }
        else if (ev.IsWorkerEvent)
        {
            foreach (var kv in ev.Fields)
            {
                if (ReservedWorkerKeys.Contains(kv.Key)) return Reject(RejectionCause.ReservedField, $"{type} carries '{kv.Key}'");
                if (kv.Key == "freq" && RawJson.AsNumber(kv.Value) is null)
                    return Reject(RejectionCause.IllTypedField, "'freq' is not a number");
            }
        }
        return (ev, null);
    }

    private static (CeleryEvent?, Rejection?) Reject(RejectionCause cause, string detail) => (null, new Rejection(cause, detail));

    private static int? ControlAt(string id)
    {
        for (var i = 0; i < id.Length; i++)
            if (char.IsControl(id[i])) return i;
        return null;
    }

    private static double? Number(ref Utf8JsonReader reader, string name, ref Rejection? rejection)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            rejection ??= new(RejectionCause.IllTypedField, $"'{name}' is {Describe(reader.TokenType)}");
            return null;
        }
        if (reader.TryGetDouble(out var d) && double.IsFinite(d)) return d;
        rejection ??= new(RejectionCause.NonFiniteNumber, $"'{name}' is not a finite number");
        return null;
    }

    /// <summary>
    /// Reads a container value to its end, checking its numbers, and returns its raw text with any
    /// kombu envelope unwrapped (see <see cref="KombuEnvelope"/>).
    /// </summary>
    private static (string Raw, Rejection? Rejection) Envelope(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, int start, string name)
    {
        var depth = reader.CurrentDepth;
        var mayHoldEnvelope = false;
        Rejection? rejection = null;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("__type__"u8)) mayHoldEnvelope = true;
            else if (reader.TokenType == JsonTokenType.Number && !(reader.TryGetDouble(out var d) && double.IsFinite(d)))
                rejection ??= new(RejectionCause.NonFiniteNumber, $"field '{name}' holds a number that is not finite");
        }
        var raw = Encoding.UTF8.GetString(body[start..(int)reader.BytesConsumed]);
        if (!mayHoldEnvelope || rejection is not null) return (raw, rejection);
        try
        {
            return (JsonSerializer.Serialize(KombuEnvelope.Unwrap(JsonNode.Parse(raw)), RawJson.Options), null);
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or JsonException)
        {
            return (raw, new Rejection(RejectionCause.UnsupportedKombuType, $"field '{name}': {ex.Message}"));
        }
    }

    private static void SetField(List<KeyValuePair<string, string>> fields, string name, string value)
    {
        // json.loads keeps the last of duplicate keys.
        for (var i = 0; i < fields.Count; i++)
            if (fields[i].Key == name)
            {
                fields[i] = new(name, value);
                return;
            }
        fields.Add(new(name, value));
    }

    // Field names repeat in every event: intern them instead of allocating each time.
    private string Name(ref Utf8JsonReader reader) =>
        reader.ValueIsEscaped ? reader.GetString()! : _interner.Get(reader.ValueSpan);

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "missing",
    };
}
