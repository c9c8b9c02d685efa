using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using MessagePack;

namespace ActorMonitor.Celery.Events;

/// <summary>
/// Rewrites a kombu msgpack body (unpackb(raw=False)) as the JSON text kombu's json.dumps would
/// have sent for the same Python value — ", " and ": " separators, ensure_ascii escapes, Python's
/// float repr — so the JSON decoder reads it into the very events, with the very raw field texts,
/// that a JSON body gives. Maps become objects, arrays lists, str strings, int/float/bool/nil
/// numbers/true/false/null. A bin value (Python bytes) becomes its UTF-8 text, else its base64
/// text: what the decoder makes of kombu's JSON "bytes"/"base64" envelopes.
/// <para>
/// Refused as a whole (<see cref="RejectionCause.NotMsgpack"/>), as unpackb would raise: malformed
/// or truncated data, bytes after the value, a str that is not UTF-8, a map key that is neither
/// str nor bin (strict_map_key), nesting deeper than the decoder's depth limit. Refused per event
/// (the other events of a list are kept): ext values, timestamps included
/// (<see cref="RejectionCause.UnsupportedMsgpackType"/>), and NaN or infinite floats
/// (<see cref="RejectionCause.NonFiniteNumber"/>). Not thread-safe: reuses its buffer.
/// </para>
/// </summary>
internal sealed class MsgpackToJson(int maxDepth)
{
    private byte[] _buffer = new byte[4096];
    private int _length;
    private string? _field; // the event's key being written, for rejection details
    private int _eventDepth; // 1 for a single event, 2 for the items of a list

    /// <summary>The JSON of the last conversion; valid until the next one.</summary>
    public ReadOnlySpan<byte> Json => _buffer.AsSpan(0, _length);

    /// <summary>Converts <paramref name="body"/>; returns the refusal of the whole body, or null with per-event refusals in <paramref name="rejections"/>.</summary>
    public Rejection? Convert(ReadOnlyMemory<byte> body, ref List<Rejection>? rejections)
    {
        _length = 0;
        if (body.IsEmpty) return new Rejection(RejectionCause.NotMsgpack, "empty body");
        var reader = new MessagePackReader(body);
        try
        {
            if (reader.NextMessagePackType == MessagePackType.Array)
            {
                // task.multi: each item converted on its own, so one bad event does not drop the others.
                var count = reader.ReadArrayHeader();
                Append((byte)'[');
                _eventDepth = 2;
                var written = 0;
                for (var i = 0; i < count; i++)
                {
                    var mark = _length;
                    if (written > 0) Append(", "u8);
                    _field = null;
                    var itemRejection = Value(ref reader, depth: 2);
                    if (itemRejection is null)
                    {
                        written++;
                        continue;
                    }
                    _length = mark;
                    (rejections ??= []).Add(itemRejection);
                }
                Append((byte)']');
            }
            else
            {
                _field = null;
                _eventDepth = 1;
                if (Value(ref reader, depth: 1) is { } r)
                {
                    _length = 0;
                    (rejections ??= []).Add(r);
                }
            }
            if (!reader.End)
                return new Rejection(RejectionCause.NotMsgpack, $"{body.Length - reader.Consumed} byte(s) after the msgpack value");
            return null;
        }
        catch (NotMsgpackException ex)
        {
            return new Rejection(RejectionCause.NotMsgpack, ex.Message);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException or InvalidOperationException)
        {
            return new Rejection(RejectionCause.NotMsgpack, "malformed msgpack: " + ex.Message);
        }
    }

    /// <summary>Writes one value; returns a per-event refusal after skipping the rest of the value's container.</summary>
    private Rejection? Value(ref MessagePackReader reader, int depth)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                Append("null"u8);
                return null;
            case MessagePackType.Boolean:
                Append(reader.ReadBoolean() ? "true"u8 : "false"u8);
                return null;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64) AppendAscii(reader.ReadUInt64().ToString(CultureInfo.InvariantCulture));
                else AppendAscii(reader.ReadInt64().ToString(CultureInfo.InvariantCulture));
                return null;
            case MessagePackType.Float:
                var d = reader.ReadDouble(); // a float32 widens exactly, as Python's float() of it
                if (!double.IsFinite(d))
                    return new Rejection(RejectionCause.NonFiniteNumber, $"{Where()} holds a number that is not finite");
                AppendAscii(RawJson.PythonFloatRepr(d));
                return null;
            case MessagePackType.String:
                AppendString(Str(ref reader));
                return null;
            case MessagePackType.Binary:
                AppendString(Bin(ref reader));
                return null;
            case MessagePackType.Array:
            {
                if (depth > maxDepth) throw new NotMsgpackException($"nested deeper than {maxDepth}");
                var count = reader.ReadArrayHeader();
                Append((byte)'[');
                Rejection? rejection = null;
                for (var i = 0; i < count; i++)
                {
                    if (rejection is not null)
                    {
                        SkipChecked(ref reader, depth + 1);
                        continue;
                    }
                    if (i > 0) Append(", "u8);
                    rejection = Value(ref reader, depth + 1);
                }
                Append((byte)']');
                return rejection;
            }
            case MessagePackType.Map:
            {
                if (depth > maxDepth) throw new NotMsgpackException($"nested deeper than {maxDepth}");
                var count = reader.ReadMapHeader();
                Append((byte)'{');
                Rejection? rejection = null;
                for (var i = 0; i < count; i++)
                {
                    var key = reader.NextMessagePackType switch
                    {
                        MessagePackType.String => Str(ref reader),
                        MessagePackType.Binary => Bin(ref reader),
                        var t => throw new NotMsgpackException($"a map key is {Describe(t)} (unpackb takes str and bin keys only)"),
                    };
                    if (rejection is not null)
                    {
                        SkipChecked(ref reader, depth + 1);
                        continue;
                    }
                    if (i > 0) Append(", "u8);
                    AppendString(key);
                    Append(": "u8);
                    if (depth == _eventDepth) _field = Encoding.UTF8.GetString(key);
                    rejection = Value(ref reader, depth + 1);
                }
                Append((byte)'}');
                return rejection;
            }
            case MessagePackType.Extension:
            {
                var header = reader.ReadExtensionFormatHeader();
                reader.ReadRaw(header.Length);
                var what = header.TypeCode == ReservedMessagePackExtensionTypeCode.DateTime ? "a msgpack timestamp" : $"a msgpack ext value of type {header.TypeCode}";
                return new Rejection(RejectionCause.UnsupportedMsgpackType, $"{Where()} holds {what}");
            }
            default:
                throw new NotMsgpackException($"byte 0x{reader.NextCode:x2} starts no msgpack value");
        }
    }

    /// <summary>Moves past a value after a refusal in its container, still refusing what unpackb would.</summary>
    private void SkipChecked(ref MessagePackReader reader, int depth)
    {
        var mark = _length;
        Value(ref reader, depth);
        _length = mark;
    }

    private string Where() => _field is null ? "the event" : $"field '{_field}'";

    private static ReadOnlySpan<byte> Str(ref MessagePackReader reader)
    {
        var bytes = reader.TryReadStringSpan(out var span) ? span : reader.ReadStringSequence()!.Value.ToArray();
        if (!Utf8.IsValid(bytes)) throw new NotMsgpackException("a str is not valid UTF-8");
        return bytes;
    }

    private static ReadOnlySpan<byte> Bin(ref MessagePackReader reader)
    {
        var seq = reader.ReadBytes()!.Value;
        var bytes = seq.IsSingleSegment ? seq.FirstSpan : seq.ToArray();
        return Utf8.IsValid(bytes) ? bytes : Encoding.ASCII.GetBytes(System.Convert.ToBase64String(bytes));
    }

    private static string Describe(MessagePackType t) => t switch
    {
        MessagePackType.Integer => "an int",
        MessagePackType.Float => "a float",
        MessagePackType.Nil => "nil",
        MessagePackType.Boolean => "a bool",
        MessagePackType.Array => "an array",
        MessagePackType.Map => "a map",
        MessagePackType.Extension => "an ext value",
        _ => "not a value",
    };

    /// <summary>A JSON string as Python's json.dumps writes it (ensure_ascii): \" \\ \b \f \n \r \t, every other char outside ' '..'~' as \uxxxx.</summary>
    private void AppendString(ReadOnlySpan<byte> utf8)
    {
        Append((byte)'"');
        Span<char> chars = stackalloc char[2];
        var i = 0;
        while (i < utf8.Length)
        {
            var run = i;
            while (run < utf8.Length && utf8[run] is >= 0x20 and < 0x7f and not (byte)'"' and not (byte)'\\') run++;
            if (run > i)
            {
                Append(utf8[i..run]);
                i = run;
                if (i == utf8.Length) break;
            }
            var b = utf8[i];
            switch (b)
            {
                case (byte)'"': Append("\\\""u8); i++; continue;
                case (byte)'\\': Append("\\\\"u8); i++; continue;
                case (byte)'\b': Append("\\b"u8); i++; continue;
                case (byte)'\f': Append("\\f"u8); i++; continue;
                case (byte)'\n': Append("\\n"u8); i++; continue;
                case (byte)'\r': Append("\\r"u8); i++; continue;
                case (byte)'\t': Append("\\t"u8); i++; continue;
            }
            Rune.DecodeFromUtf8(utf8[i..], out var rune, out var consumed); // valid: checked before
            var n = rune.EncodeToUtf16(chars);
            for (var c = 0; c < n; c++) AppendAscii("\\u" + ((int)chars[c]).ToString("x4", CultureInfo.InvariantCulture));
            i += consumed;
        }
        Append((byte)'"');
    }

    private void AppendAscii(string s)
    {
        Reserve(s.Length);
        _length += Encoding.ASCII.GetBytes(s, _buffer.AsSpan(_length));
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Append(byte b)
    {
        Reserve(1);
        _buffer[_length++] = b;
    }

    private void Reserve(int n)
    {
        if (_length + n <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
    }

    private sealed class NotMsgpackException(string message) : Exception(message);
}
