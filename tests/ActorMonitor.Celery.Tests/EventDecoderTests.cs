using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.Tests;

public class EventDecoderTests
{
    private readonly EventDecoder _decoder = new(maxBodyBytes: 4096, maxDepth: 32);

    [Fact]
    public void Single_event_keeps_typed_keys_and_every_other_field_in_wire_order()
    {
        var m = _decoder.Decode("""{"hostname": "w@h", "utcoffset": -1, "pid": 7, "clock": 12, "uuid": "u", "name": "t.add", "args": "(1, 2)", "timestamp": 1795431473.853021, "type": "task-received"}""");
        var ev = Assert.Single(m.Events);
        Assert.Empty(m.Rejections);
        Assert.Equal(("task", "received"), (ev.Group, ev.Subject));
        Assert.Equal("w@h", ev.Hostname);
        Assert.Equal("u", ev.Uuid);
        Assert.Equal(-1, ev.UtcOffset);
        Assert.Equal(12, ev.Clock);
        Assert.Equal(1795431473.853021, ev.Timestamp);
        Assert.Equal(["pid", "name", "args"], ev.Fields.Select(f => f.Key));
        Assert.Equal("\"(1, 2)\"", ev.Field("args"));
    }

    [Fact]
    public void List_body_yields_events_in_order_and_empty_list_is_a_no_op()
    {
        var m = _decoder.Decode("""[{"type": "worker-heartbeat", "hostname": "a", "timestamp": 1}, {"type": "worker-heartbeat", "hostname": "b", "timestamp": 2}]""");
        Assert.Equal(["a", "b"], m.Events.Select(e => e.Hostname));
        var empty = _decoder.Decode("[]");
        Assert.Empty(empty.Events);
        Assert.False(empty.HasRejections);
    }

    [Fact]
    public void A_body_that_is_not_valid_UTF8_is_refused_with_a_cause_of_its_own_so_different_names_never_merge()
    {
        byte[] Body(byte bad) =>
        [
            .. "{\"type\": \"worker-online\", \"timestamp\": 1, \"hostname\": \"w"u8, bad, (byte)'@', (byte)'h', .. "\"}"u8,
        ];
        foreach (var bad in new byte[] { 0xFF, 0xFE, 0xC0, 0x80 })
        {
            var m = _decoder.Decode(Body(bad).AsSpan());
            Assert.Empty(m.Events);
            Assert.Equal(RejectionCause.NotUtf8, Assert.Single(m.Rejections).Cause);
        }
        // The same name in valid UTF-8 (é) is an event.
        Assert.Equal("wé@h", Assert.Single(_decoder.Decode("{\"type\": \"worker-online\", \"timestamp\": 1, \"hostname\": \"wé@h\"}").Events).Hostname);
    }

    [Theory]
    [InlineData("{\"type\": \"task-sent\", \"hostname\": \"w@h\", \"timestamp\": 1, \"uuid\": \"ab\\u0000cd\"}", "'uuid' holds U+0000 at 2")]
    [InlineData("{\"type\": \"task-sent\", \"hostname\": \"w@h\", \"timestamp\": 1, \"uuid\": \"ab\\ncd\"}", "'uuid' holds U+000A at 2")]
    [InlineData("{\"type\": \"worker-online\", \"hostname\": \"w\\u001b@h\", \"timestamp\": 1}", "'hostname' holds U+001B at 1")]
    [InlineData("{\"type\": \"worker-online\", \"hostname\": \"w\\u0085@h\", \"timestamp\": 1}", "'hostname' holds U+0085 at 1")]
    public void Ids_with_control_characters_are_refused(string body, string detail)
    {
        var m = _decoder.Decode(body);
        Assert.Empty(m.Events);
        Assert.Equal(new Rejection(RejectionCause.ControlCharacterInId, detail), Assert.Single(m.Rejections));
    }

    [Fact]
    public void Type_is_split_at_the_first_dash_only()
    {
        var ev = Assert.Single(_decoder.Decode("""{"type": "worker-elect-ack", "hostname": "a", "timestamp": 1}""").Events);
        Assert.Equal(("worker", "elect-ack"), (ev.Group, ev.Subject));
    }

    [Theory]
    [InlineData("not json {", RejectionCause.NotJson)]
    [InlineData("", RejectionCause.NotJson)]
    [InlineData("\"just a string\"", RejectionCause.NotAnEvent)]
    [InlineData("[1, 2, 3]", RejectionCause.NotAnEvent)]
    [InlineData("""{"hostname": "w", "clock": 5}""", RejectionCause.MissingType)]
    [InlineData("""{"type": 42}""", RejectionCause.MissingType)]
    [InlineData("""{"type": "task-succeeded", "hostname": "w", "timestamp": 1.0, "clock": 3}""", RejectionCause.MissingField)]
    [InlineData("""{"type": "task-received", "uuid": 12345, "hostname": "w", "timestamp": 1, "clock": 4}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "task-received", "uuid": "u", "hostname": "w", "timestamp": "yesterday"}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "worker-heartbeat", "hostname": null, "timestamp": 1.0, "clock": 2}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "worker-heartbeat", "timestamp": 1.0}""", RejectionCause.MissingField)]
    [InlineData("""{"type": "worker-heartbeat", "hostname": "w"}""", RejectionCause.MissingField)]
    [InlineData("""{"type": "task-started", "uuid": "a", "hostname": "h", "timestamp": 1e400, "clock": 1}""", RejectionCause.NonFiniteNumber)]
    [InlineData("""{"type": "task-started", "uuid": "a", "hostname": "h", "timestamp": 1, "runtime": [1, -1e999]}""", RejectionCause.NonFiniteNumber)]
    [InlineData("""{"type": "task-started", "uuid": "a", "hostname": "h", "timestamp": 1, "clock": null}""", RejectionCause.NullClock)]
    [InlineData("""{"type": "task-started", "uuid": "a", "hostname": "h", "timestamp": 1, "clock": "7"}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "task-started", "uuid": "a", "hostname": "h", "timestamp": 1, "clock": 1.5}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "worker-elect", "hostname": "h", "timestamp": 1, "id": "x", "topic": "t"}""", RejectionCause.ReservedField)]
    [InlineData("""{"type": "worker-heartbeat", "hostname": "h", "timestamp": 1, "heartbeats": [1]}""", RejectionCause.ReservedField)]
    [InlineData("""{"type": "worker-heartbeat", "hostname": "h", "timestamp": 1, "freq": "often"}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "task-sent", "uuid": "a", "hostname": "h", "timestamp": 1, "worker": "w"}""", RejectionCause.ReservedField)]
    [InlineData("""{"type": "task-sent", "uuid": "a", "hostname": "h", "timestamp": 1, "name": 3}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "task-sent", "uuid": "a", "hostname": "h", "timestamp": 1, "utcoffset": "UTC"}""", RejectionCause.IllTypedField)]
    [InlineData("""{"type": "task-sent", "uuid": "a", "hostname": "h", "timestamp": 1, "eta": {"__type__": "martian", "__value__": 1}}""", RejectionCause.UnsupportedKombuType)]
    public void Refuses_what_would_crash_or_corrupt_celery_state(string body, RejectionCause cause)
    {
        var m = _decoder.Decode(body);
        Assert.Empty(m.Events);
        Assert.NotEmpty(m.Rejections);
        Assert.All(m.Rejections, r => Assert.Equal(cause, r.Cause));
    }

    [Fact]
    public void Ids_over_255_characters_are_refused()
    {
        var uuid = new string('x', 256);
        var m = _decoder.Decode($$"""{"type": "task-started", "uuid": "{{uuid}}", "hostname": "h", "timestamp": 1, "clock": 1}""");
        Assert.Equal(RejectionCause.IdTooLong, Assert.Single(m.Rejections).Cause);
        var ok = _decoder.Decode($$"""{"type": "task-started", "uuid": "{{new string('x', 255)}}", "hostname": "h", "timestamp": 1}""");
        Assert.Single(ok.Events);
    }

    [Fact]
    public void Nesting_bomb_and_oversized_bodies_are_refused_without_parsing_them_whole()
    {
        var roomy = new EventDecoder(maxBodyBytes: 1 << 20, maxDepth: 32);
        Assert.Equal(RejectionCause.NotJson, Assert.Single(roomy.Decode(new string('[', 100_000)).Rejections).Cause);
        var deep = string.Concat(Enumerable.Repeat("{\"a\": ", 40)) + "1" + new string('}', 40);
        Assert.Equal(RejectionCause.NotJson, Assert.Single(_decoder.Decode(deep).Rejections).Cause);
        var big = "{\"type\": \"x\", \"pad\": \"" + new string('p', 5000) + "\"}";
        Assert.Equal(RejectionCause.TooLarge, Assert.Single(_decoder.Decode(big).Rejections).Cause);
    }

    [Fact]
    public void A_list_with_bad_items_keeps_its_valid_events_and_reports_each_bad_one()
    {
        var m = _decoder.Decode("""[{"type": "task-started"}, "x", null, {"type": "worker-online", "hostname": "w", "timestamp": 5}]""");
        Assert.Equal("w", Assert.Single(m.Events).Hostname);
        Assert.Equal([RejectionCause.MissingField, RejectionCause.NotAnEvent, RejectionCause.NotAnEvent], m.Rejections.Select(r => r.Cause));
    }

    [Fact]
    public void Kombu_envelopes_become_the_plain_json_kombu_5_2_would_send()
    {
        var ev = Assert.Single(_decoder.Decode("""
            {"type": "task-sent", "uuid": {"__type__": "uuid", "__value__": {"hex": "051cf4c600aa4e108ceddf7a56206d6e", "version": 4}},
             "hostname": "h", "timestamp": 1,
             "eta": {"__type__": "datetime", "__value__": "2026-11-23T10:57:54.860588+00:00"},
             "kwargs": {"amount": {"__type__": "decimal", "__value__": "1.10"}, "raw": {"__type__": "bytes", "__value__": "abc"}},
             "blob": {"__type__": "base64", "__value__": "aGVsbG8="},
             "look": {"__type__": "datetime", "__value__": "x", "extra": 1}}
            """).Events);
        Assert.Equal("051cf4c6-00aa-4e10-8ced-df7a56206d6e", ev.Uuid);
        Assert.Equal("\"2026-11-23T10:57:54.860588+00:00\"", ev.Field("eta"));
        Assert.Equal("""{"amount":"1.10","raw":"abc"}""", ev.Field("kwargs"));
        Assert.Equal("\"hello\"", ev.Field("blob"));
        Assert.Contains("\"extra\"", ev.Field("look")); // three keys: not an envelope
    }

    [Fact]
    public void Custom_group_events_need_only_a_type()
    {
        var ev = Assert.Single(_decoder.Decode("""{"type": "myapp-thing"}""").Events);
        Assert.Equal("myapp", ev.Group);
    }
}
