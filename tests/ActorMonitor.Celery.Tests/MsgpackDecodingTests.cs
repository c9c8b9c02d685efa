using System.Buffers;
using System.Text;
using ActorMonitor.Celery.Events;
using MessagePack;

namespace ActorMonitor.Celery.Tests;

/// <summary>
/// kombu's msgpack event bodies decode into the same events, with the same raw field texts, as
/// the JSON kombu would have sent; pickle, YAML and other content types are refused unread.
/// </summary>
public class MsgpackDecodingTests
{
    private const string Msgpack = "application/x-msgpack";
    private readonly EventDecoder _decoder = new(maxBodyBytes: 64 * 1024, maxDepth: 32);

    // As kombu's json.dumps writes it: ", " and ": ", ensure_ascii escapes, Python's float repr.
    private const string TaskReceivedJson =
        """{"hostname": "w1@h", "utcoffset": -1, "pid": 4242, "clock": 17, "uuid": "2f4c0b7e-1d2a-4b1e-9a55-0d2b7c1e9f00", "name": "tasks.add", "args": "(2, 2)", "kwargs": "{}", "retries": 0, "eta": null, "timestamp": 1700000000.123456, "type": "task-received", "loadavg": [0.5, 0.25, 1e-05], "info": {"ok": true, "note": "caf\u00e9 \u2603 \ud83d\ude00 \"q\" \\ \n\u007f", "big": 18446744073709551615, "neg": -5, "n": null}, "f32": 0.10000000149011612, "e": 1e+16, "small": 1.5e-07}""";

    private static readonly (string, object?)[] TaskReceived =
    [
        ("hostname", "w1@h"), ("utcoffset", -1L), ("pid", 4242L), ("clock", 17L), ("uuid", "2f4c0b7e-1d2a-4b1e-9a55-0d2b7c1e9f00"),
        ("name", "tasks.add"), ("args", "(2, 2)"), ("kwargs", "{}"), ("retries", 0L), ("eta", null),
        ("timestamp", 1700000000.123456), ("type", "task-received"),
        ("loadavg", new object?[] { 0.5, 0.25, 1e-05 }),
        ("info", new (string, object?)[] { ("ok", true), ("note", "caf\u00e9 \u2603 \U0001F600 \"q\" \\ \n\u007f"), ("big", ulong.MaxValue), ("neg", -5L), ("n", null) }),
        ("f32", 0.1f), ("e", 1e16), ("small", 1.5e-7),
    ];

    private static readonly (string, object?)[] Heartbeat =
    [
        ("hostname", "w2@h"), ("utcoffset", 0L), ("pid", 7L), ("clock", 3L), ("freq", 2.0), ("active", 1L), ("processed", 9L),
        ("loadavg", new object?[] { 0.01, 0.0, 0.0 }), ("sw_ident", "py-celery"), ("sw_ver", "5.2.6"), ("sw_sys", "Linux"),
        ("timestamp", 1700000001.5), ("type", "worker-heartbeat"),
    ];

    private const string HeartbeatJson =
        """{"hostname": "w2@h", "utcoffset": 0, "pid": 7, "clock": 3, "freq": 2.0, "active": 1, "processed": 9, "loadavg": [0.01, 0.0, 0.0], "sw_ident": "py-celery", "sw_ver": "5.2.6", "sw_sys": "Linux", "timestamp": 1700000001.5, "type": "worker-heartbeat"}""";

    [Fact]
    public void Single_event_decodes_as_the_same_json_would()
    {
        var fromJson = _decoder.Decode(TaskReceivedJson);
        var fromMsgpack = _decoder.Decode(Pack(TaskReceived), Msgpack);
        Assert.Empty(fromJson.Rejections);
        Assert.Empty(fromMsgpack.Rejections);
        AssertSameEvent(Assert.Single(fromJson.Events), Assert.Single(fromMsgpack.Events));
        Assert.NotEqual(0UL, fromMsgpack.BodyHash);
    }

    [Fact]
    public void Task_multi_list_decodes_as_the_same_json_would()
    {
        var fromJson = _decoder.Decode($"[{TaskReceivedJson}, {HeartbeatJson}]");
        var fromMsgpack = _decoder.Decode(Pack(new object?[] { TaskReceived, Heartbeat }), Msgpack);
        Assert.Empty(fromMsgpack.Rejections);
        Assert.Equal(2, fromMsgpack.Events.Count);
        for (var i = 0; i < 2; i++) AssertSameEvent(fromJson.Events[i], fromMsgpack.Events[i]);
        Assert.Empty(_decoder.Decode(Pack(Array.Empty<object?>()), Msgpack).Events);
        Assert.False(_decoder.Decode(Pack(Array.Empty<object?>()), Msgpack).HasRejections);
    }

    [Fact]
    public void Bin_values_become_their_utf8_text_else_their_base64_text()
    {
        var ev = Assert.Single(_decoder.Decode(Pack(With(Heartbeat, ("note", "hé"u8.ToArray()), ("blob", new byte[] { 0xff, 0x00, 0x80 }))), Msgpack).Events);
        Assert.Equal("\"h\\u00e9\"", ev.Field("note"));
        Assert.Equal("\"/wCA\"", ev.Field("blob"));
    }

    [Fact]
    public void Malformed_msgpack_is_refused_as_a_whole()
    {
        var good = Pack(Heartbeat);
        Assert.Equal(RejectionCause.NotMsgpack, Single(_decoder.Decode(good.AsMemory(0, good.Length - 3), Msgpack)));
        Assert.Equal(RejectionCause.NotMsgpack, Single(_decoder.Decode(good.Concat(new byte[] { 0x01 }).ToArray(), Msgpack)));
        Assert.Equal(RejectionCause.NotMsgpack, Single(_decoder.Decode(Array.Empty<byte>(), Msgpack)));
        Assert.Equal(RejectionCause.NotMsgpack, Single(_decoder.Decode(new byte[] { 0xc1 }, Msgpack))); // never used
        // JSON text sent as msgpack is not msgpack either (a fixstr's length does not fit).
        Assert.Equal(RejectionCause.NotMsgpack, Single(_decoder.Decode(Encoding.UTF8.GetBytes(HeartbeatJson), Msgpack)));
    }

    [Fact]
    public void A_str_that_is_not_utf8_or_a_key_that_is_not_str_refuses_the_whole_list()
    {
        var badStr = Pack(new object?[] { Heartbeat, With(Heartbeat, ("note", new RawStr([0x61, 0xff]))) });
        var m = _decoder.Decode(badStr, Msgpack);
        Assert.Empty(m.Events);
        Assert.Contains("UTF-8", Assert.Single(m.Rejections).Detail);
        Assert.Equal(RejectionCause.NotMsgpack, m.Rejections[0].Cause);

        var intKey = Pack(new object?[] { Heartbeat, With(Heartbeat, ("info", new IntKeyMap(1, "one"))) });
        Assert.Equal(RejectionCause.NotMsgpack, Single(_decoder.Decode(intKey, Msgpack)));
    }

    [Fact]
    public void Nesting_deeper_than_the_json_limit_is_refused_as_json_is()
    {
        object? Nest(int n) => n == 0 ? 1L : new object?[] { Nest(n - 1) };
        // The event map is one level: 31 more fit in 32, 32 more do not — for JSON and msgpack alike.
        Assert.Empty(_decoder.Decode(Pack(With(Heartbeat, ("deep", Nest(31)))), Msgpack).Rejections);
        Assert.Empty(_decoder.Decode(HeartbeatJson[..^1] + ", \"deep\": " + new string('[', 31) + "1" + new string(']', 31) + "}").Rejections);
        Assert.Equal(RejectionCause.NotJson, Single(_decoder.Decode(HeartbeatJson[..^1] + ", \"deep\": " + new string('[', 32) + "1" + new string(']', 32) + "}")));
        var tooDeep = _decoder.Decode(Pack(With(Heartbeat, ("deep", Nest(32)))), Msgpack);
        Assert.Equal(RejectionCause.NotMsgpack, Single(tooDeep));
        Assert.Contains("deeper than 32", tooDeep.Rejections[0].Detail);
    }

    [Fact]
    public void Ext_values_and_timestamps_refuse_their_event_only()
    {
        var timestamp = _decoder.Decode(Pack(new object?[] { With(Heartbeat, ("when", new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc))), Heartbeat }), Msgpack);
        var r = Assert.Single(timestamp.Rejections);
        Assert.Equal(RejectionCause.UnsupportedMsgpackType, r.Cause);
        Assert.Equal("field 'when' holds a msgpack timestamp", r.Detail);
        Assert.Equal("w2@h", Assert.Single(timestamp.Events).Hostname);

        var ext = _decoder.Decode(Pack(With(TaskReceived, ("info", new (string, object?)[] { ("x", new ExtensionResult(5, new byte[] { 1, 2, 3 })) }))), Msgpack);
        Assert.Equal(RejectionCause.UnsupportedMsgpackType, Single(ext));
        Assert.Equal("field 'info' holds a msgpack ext value of type 5", ext.Rejections[0].Detail);
    }

    [Fact]
    public void Non_finite_floats_refuse_their_event_as_in_json()
    {
        var m = _decoder.Decode(Pack(new object?[] { With(Heartbeat, ("load", double.NaN)), Heartbeat, With(Heartbeat, ("timestamp", double.PositiveInfinity)) }), Msgpack);
        Assert.Equal([RejectionCause.NonFiniteNumber, RejectionCause.NonFiniteNumber], m.Rejections.Select(x => x.Cause));
        Assert.Single(m.Events);
    }

    [Fact]
    public void Checks_after_decoding_are_the_json_ones()
    {
        var noType = _decoder.Decode(Pack(Heartbeat.Where(kv => kv.Item1 != "type").ToArray()), Msgpack);
        Assert.Equal(RejectionCause.MissingType, Single(noType));
        var reserved = _decoder.Decode(Pack(With(Heartbeat, ("alive", true))), Msgpack);
        Assert.Equal(RejectionCause.ReservedField, Single(reserved));
        Assert.Equal(RejectionCause.NotAnEvent, Single(_decoder.Decode(Pack("just a string"), Msgpack)));
    }

    [Fact]
    public void Msgpack_bodies_keep_the_body_size_limit()
    {
        var small = new EventDecoder(maxBodyBytes: 64, maxDepth: 32);
        Assert.Equal(RejectionCause.TooLarge, Single(small.Decode(Pack(TaskReceived), Msgpack)));
    }

    [Theory]
    [InlineData("application/x-python-serialize", RejectionCause.RefusedPickle)]
    [InlineData("application/x-yaml", RejectionCause.RefusedYaml)]
    [InlineData("APPLICATION/X-YAML; charset=utf-8", RejectionCause.RefusedYaml)]
    [InlineData("application/data", RejectionCause.UnknownContentType)]
    [InlineData("text/plain", RejectionCause.UnknownContentType)]
    [InlineData("application/x-bson", RejectionCause.UnknownContentType)]
    public void Other_serializers_are_refused_unread_and_counted_by_cause(string contentType, RejectionCause cause)
    {
        // A JSON event body under another content type: still refused, the body is not looked at.
        var m = _decoder.Decode(Encoding.UTF8.GetBytes(HeartbeatJson), contentType);
        Assert.Equal(cause, Single(m));
        Assert.Empty(m.Events);
        Assert.NotEqual(0UL, m.BodyHash); // a redelivery of it is recognised, not counted twice
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    public void Json_and_no_content_type_are_read_as_json(string? contentType)
    {
        var m = _decoder.Decode(Encoding.UTF8.GetBytes(HeartbeatJson), contentType);
        Assert.Equal("w2@h", Assert.Single(m.Events).Hostname);
        Assert.Equal(_decoder.Decode(HeartbeatJson).BodyHash, m.BodyHash);
    }

    private static RejectionCause Single(DecodedMessage m)
    {
        Assert.Empty(m.Events);
        return Assert.Single(m.Rejections).Cause;
    }

    private static void AssertSameEvent(CeleryEvent expected, CeleryEvent actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Hostname, actual.Hostname);
        Assert.Equal(expected.Uuid, actual.Uuid);
        Assert.Equal(expected.Timestamp, actual.Timestamp);
        Assert.Equal(expected.UtcOffset, actual.UtcOffset);
        Assert.Equal(expected.Clock, actual.Clock);
        Assert.Equal(expected.Fields, actual.Fields); // keys in wire order and raw JSON texts, byte for byte
        Assert.Equal(expected.Id, actual.Id); // the same text, so the same id
    }

    private static (string, object?)[] With((string, object?)[] map, params (string, object?)[] more) => [.. map, .. more];

    private sealed record RawStr(byte[] Bytes);

    private sealed record IntKeyMap(long Key, string Value);

    private static byte[] Pack(object? value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, value);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    // As msgpack-python's packb(use_bin_type=True): str as str, bytes as bin, float as float64.
    private static void Write(ref MessagePackWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNil(); break;
            case bool b: w.Write(b); break;
            case long l: w.Write(l); break;
            case ulong u: w.Write(u); break;
            case double d: w.Write(d); break;
            case float f: w.Write(f); break;
            case string s: w.Write(s); break;
            case byte[] bytes: w.Write(bytes); break;
            case DateTime t: w.Write(t); break;
            case ExtensionResult ext: w.WriteExtensionFormat(ext); break;
            case RawStr raw:
                w.WriteStringHeader(raw.Bytes.Length);
                w.WriteRaw(raw.Bytes);
                break;
            case IntKeyMap m:
                w.WriteMapHeader(1);
                w.Write(m.Key);
                w.Write(m.Value);
                break;
            case (string, object?)[] map:
                w.WriteMapHeader(map.Length);
                foreach (var (k, v) in map)
                {
                    w.Write(k);
                    Write(ref w, v);
                }
                break;
            case object?[] list:
                w.WriteArrayHeader(list.Length);
                foreach (var item in list) Write(ref w, item);
                break;
            default: throw new ArgumentException($"cannot pack {value.GetType()}");
        }
    }
}
