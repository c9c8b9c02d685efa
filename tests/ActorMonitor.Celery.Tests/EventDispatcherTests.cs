using System.Text;
using ActorMonitor.Celery.Dispatch;
using ActorMonitor.Celery.Receiver;

namespace ActorMonitor.Celery.Tests;

public class EventDispatcherTests
{
    private sealed class FakeTransport : IEventTransport
    {
        public List<(string RoutingKey, string Body)> Published { get; } = [];
        public bool Down { get; set; }

        public Task PublishAsync(string routingKey, ReadOnlyMemory<byte> body, CancellationToken ct)
        {
            if (Down) throw new IOException("connection refused");
            Published.Add((routingKey, Encoding.UTF8.GetString(body.Span)));
            return Task.CompletedTask;
        }
    }

    private static (EventDispatcher, FakeTransport) Create(DispatcherOptions? options = null, LamportClock? clock = null)
    {
        var transport = new FakeTransport();
        var t = 1795431468.0;
        return (new EventDispatcher(transport, options ?? new DispatcherOptions { Hostname = "research@vm" }, clock ?? new LamportClock(),
            now: () => t += 0.5, utcoffset: () => 0, pid: 10564), transport);
    }

    private static KeyValuePair<string, object?> F(string k, object? v) => new(k, v);

    [Fact]
    public void Worker_online_is_byte_for_byte_what_celery_sends()
    {
        // Captured from a real Celery 5.2.6 worker on RabbitMQ (-E).
        var ev = EventFactory.Create("worker-online", "research@vm", 0, 10564, 1,
            [F("freq", 2.0), F("active", 0), F("processed", 0), F("loadavg", new[] { 1.02, 0.49, 0.21 }),
             F("sw_ident", "py-celery"), F("sw_ver", "5.2.6"), F("sw_sys", "Linux"), F("timestamp", 1795431468.2773495)], () => 0);
        Assert.Equal("""{"hostname": "research@vm", "utcoffset": 0, "pid": 10564, "clock": 1, "freq": 2.0, "active": 0, "processed": 0, "loadavg": [1.02, 0.49, 0.21], "sw_ident": "py-celery", "sw_ver": "5.2.6", "sw_sys": "Linux", "timestamp": 1795431468.2773495, "type": "worker-online"}""",
            PythonJson.Dumps(ev));
    }

    [Theory]
    [InlineData(2.0, "2.0")]
    [InlineData(1795431473.853021, "1795431473.853021")]
    [InlineData(8.461500004841582e-05, "8.461500004841582e-05")]
    [InlineData(1e16, "1e+16")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(-0.5, "-0.5")]
    public void Floats_are_written_as_python_repr(double value, string expected) => Assert.Equal(expected, PythonJson.Dumps(value));

    [Fact]
    public void Strings_are_ascii_with_lowercase_escapes_and_surrogate_pairs()
    {
        Assert.Equal("\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\n \\u007f\"", PythonJson.Dumps("café 😀 \"q\" \\ \n \u007f"));
        Assert.Equal("{\"a\": null, \"b\": true, \"c\": [1, \"x\"]}", PythonJson.Dumps(new[] { F("a", null), F("b", true), F("c", new object[] { 1, "x" }) }));
    }

    [Fact]
    public async Task Routing_key_is_the_type_with_dots_and_the_key_order_is_celerys()
    {
        var (d, t) = Create();
        await d.SendAsync("worker-elect-ack", [F("id", "x")]);
        await d.PublishAsync("task-sent", [F("uuid", "u1"), F("name", "t.add")]);
        Assert.Equal(["worker.elect.ack", "task.sent"], t.Published.Select(p => p.RoutingKey));
        Assert.Equal("""{"hostname": "research@vm", "utcoffset": 0, "pid": 10564, "clock": 2, "uuid": "u1", "name": "t.add", "timestamp": 1795431469.0, "type": "task-sent"}""", t.Published[1].Body);
    }

    [Fact]
    public async Task Groups_filter_what_send_sends_but_not_publish()
    {
        var (d, t) = Create(new DispatcherOptions { Hostname = "w", Groups = new HashSet<string> { "worker" } });
        await d.SendAsync("task-started", [F("uuid", "u")]);
        await d.SendAsync("worker-heartbeat", []);
        await d.PublishAsync("task-sent", [F("uuid", "u")]);
        Assert.Equal(["worker.heartbeat", "task.sent"], t.Published.Select(p => p.RoutingKey));
    }

    [Fact]
    public async Task Buffered_group_is_batched_into_multi_at_the_limit_stamped_at_send()
    {
        var (d, t) = Create(new DispatcherOptions { Hostname = "w", BufferGroups = new HashSet<string> { "task" }, BufferLimit = 3 });
        await d.SendAsync("task-received", [F("uuid", "a")]);
        await d.SendAsync("task-started", [F("uuid", "a")]);
        Assert.Empty(t.Published);
        await d.SendAsync("task-succeeded", [F("uuid", "a"), F("result", "5")]);
        var (rk, body) = Assert.Single(t.Published);
        Assert.Equal("task.multi", rk);
        Assert.StartsWith("[{\"hostname\": \"w\", \"utcoffset\": 0, \"pid\": 10564, \"clock\": 1, \"uuid\": \"a\", \"timestamp\": 1795431468.5, \"type\": \"task-received\"}, {", body);
        Assert.Contains("\"clock\": 3, \"uuid\": \"a\", \"result\": \"5\"", body);

        await d.SendAsync("task-received", [F("uuid", "b")]);
        Assert.True(await d.FlushAsync());
        Assert.Equal(2, t.Published.Count);
        Assert.True(await d.FlushAsync()); // an empty group publishes nothing
        Assert.Equal(2, t.Published.Count);
    }

    [Fact]
    public async Task While_offline_events_wait_in_order_and_flush_sends_them_all()
    {
        var (d, t) = Create(new DispatcherOptions { Hostname = "w", BufferGroups = new HashSet<string> { "task" }, BufferLimit = 2 });
        t.Down = true;
        await d.SendAsync("worker-heartbeat", [F("n", 1)]);
        await d.SendAsync("task-received", [F("uuid", "a")]);
        await d.SendAsync("task-started", [F("uuid", "a")]); // the batch of 2 goes to the offline buffer
        t.Down = false;
        await d.SendAsync("worker-heartbeat", [F("n", 2)]); // waits behind the others: order is kept
        Assert.Empty(t.Published);
        Assert.Equal(3, d.Pending);
        Assert.False(await TryFlushDown(d, t));
        Assert.True(await d.FlushAsync());
        Assert.Equal(["worker.heartbeat", "task.multi", "worker.heartbeat"], t.Published.Select(p => p.RoutingKey));
        Assert.Contains("\"n\": 1", t.Published[0].Body);
        Assert.Contains("\"n\": 2", t.Published[2].Body);
        Assert.Equal(0, d.Pending);
    }

    private static async Task<bool> TryFlushDown(EventDispatcher d, FakeTransport t)
    {
        t.Down = true;
        var ok = await d.FlushAsync();
        t.Down = false;
        return ok;
    }

    [Fact]
    public async Task The_offline_buffer_is_bounded_and_counts_what_it_drops()
    {
        var warnings = new List<string>();
        var transport = new FakeTransport { Down = true };
        var d = new EventDispatcher(transport, new DispatcherOptions { Hostname = "w", OfflineLimit = 2 }, new LamportClock(), warn: warnings.Add);
        for (var i = 0; i < 3; i++) await d.SendAsync("worker-heartbeat", [F("n", i)]);
        Assert.Equal((2, 1L), (d.Pending, d.Overflowed));
        Assert.Contains(warnings, w => w.Contains("dropped"));
        transport.Down = false;
        await d.FlushAsync();
        Assert.Equal(["\"n\": 1", "\"n\": 2"], transport.Published.Select(p => p.Body.Contains("\"n\": 1") ? "\"n\": 1" : "\"n\": 2"));
    }

    [Fact]
    public async Task Without_offline_buffering_a_failure_is_thrown()
    {
        var (d, t) = Create(new DispatcherOptions { Hostname = "w", BufferWhileOffline = false });
        t.Down = true;
        await Assert.ThrowsAsync<IOException>(() => d.SendAsync("worker-heartbeat", []));
    }

    [Fact]
    public async Task Disabled_dispatcher_sends_nothing_but_publish_still_goes_out()
    {
        var (d, t) = Create(new DispatcherOptions { Hostname = "gen1@h", Enabled = false });
        await d.SendAsync("task-received", [F("uuid", "u")]);
        await d.PublishAsync("task-sent", [F("uuid", "u")]);
        Assert.Equal("task.sent", Assert.Single(t.Published).RoutingKey);
        Assert.True(EventDispatcher.IsDisabledTransport("sqla+sqlite:///celery.db"));
        Assert.True(EventDispatcher.IsDisabledTransport("sql://localhost"));
        Assert.False(EventDispatcher.IsDisabledTransport("amqp://guest@localhost//"));
    }

    [Fact]
    public async Task The_clock_is_shared_and_stamped_fields_cannot_be_overridden()
    {
        var clock = new LamportClock(41);
        var (d, t) = Create(clock: clock);
        await d.SendAsync("worker-heartbeat", []);
        Assert.Contains("\"clock\": 42", t.Published[0].Body);
        Assert.Equal(42, clock.Value);
        await Assert.ThrowsAsync<ArgumentException>(() => d.SendAsync("worker-heartbeat", [F("clock", 1)]));
    }
}

public class PythonFloatReprTests
{
    [Theory]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1.5e16, "1.5e+16")]
    [InlineData(123456789012345.67, "123456789012345.67")]
    [InlineData(0.00012, "0.00012")]
    [InlineData(1.2e-05, "1.2e-05")]
    [InlineData(1e-300, "1e-300")]
    [InlineData(0.0005930219999754627, "0.0005930219999754627")]
    [InlineData(100.0, "100.0")]
    [InlineData(0.1, "0.1")]
    public void Matches_python(double value, string expected) => Assert.Equal(expected, ActorMonitor.Celery.Events.RawJson.PythonFloatRepr(value));
}
