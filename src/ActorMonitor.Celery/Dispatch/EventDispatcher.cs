using System.Text;
using ActorMonitor.Celery.Receiver;

namespace ActorMonitor.Celery.Dispatch;

/// <summary>Where a dispatcher's messages go (the event exchange of a broker).</summary>
public interface IEventTransport
{
    /// <summary>Publishes one message body; throws when the broker did not take it.</summary>
    Task PublishAsync(string routingKey, ReadOnlyMemory<byte> body, CancellationToken ct);
}

public sealed record DispatcherOptions
{
    /// <summary>The dispatcher's node name (a worker's, or "gen&lt;pid&gt;@host" for a client).</summary>
    public required string Hostname { get; init; }

    public bool Enabled { get; init; } = true;

    /// <summary>Only events of these groups are sent; empty sends every group.</summary>
    public IReadOnlySet<string> Groups { get; init; } = new HashSet<string>();

    /// <summary>Events of these groups are batched into "&lt;group&gt;.multi" list messages.</summary>
    public IReadOnlySet<string> BufferGroups { get; init; } = new HashSet<string>();

    public int BufferLimit { get; init; } = 24;

    /// <summary>Keep what cannot be published while the broker is unreachable, for <see cref="EventDispatcher.FlushAsync"/>.</summary>
    public bool BufferWhileOffline { get; init; } = true;

    /// <summary>At most this many messages are kept while offline; past it the oldest are dropped and counted.</summary>
    public int OfflineLimit { get; init; } = 100_000;
}

/// <summary>
/// Celery's EventDispatcher (celery/events/dispatcher.py) over any transport: events stamped
/// with hostname, utcoffset, pid and the shared Lamport clock, serialized as Python's json.dumps
/// does, routing key = type with '-' as '.', group filter, "&lt;group&gt;.multi" batching, and
/// offline buffering that keeps order (a send while messages wait joins the queue behind them).
/// Safe to call from several threads.
/// </summary>
public sealed class EventDispatcher
{
    private readonly IEventTransport _transport;
    private readonly Func<double> _now;
    private readonly Func<long> _utcoffset;
    private readonly Action<string> _warn;
    private readonly SemaphoreSlim _mutex = new(1, 1);
    private readonly Dictionary<string, List<string>> _groupBuffers = new();
    private readonly LinkedList<(string RoutingKey, byte[] Body)> _outbound = new();
    private long _overflowed;

    public EventDispatcher(IEventTransport transport, DispatcherOptions options, LamportClock clock,
        Func<double>? now = null, Func<long>? utcoffset = null, int? pid = null, Action<string>? warn = null)
    {
        _transport = transport;
        Options = options;
        Clock = clock;
        Enabled = options.Enabled;
        _now = now ?? (() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        _utcoffset = utcoffset ?? EventFactory.LocalUtcOffset;
        Pid = pid ?? Environment.ProcessId;
        _warn = warn ?? (_ => { });
    }

    public DispatcherOptions Options { get; }
    public LamportClock Clock { get; }
    public int Pid { get; }
    public bool Enabled { get; set; }

    /// <summary>Messages waiting for the broker.</summary>
    public int Pending
    {
        get { _mutex.Wait(); try { return _outbound.Count; } finally { _mutex.Release(); } }
    }

    /// <summary>Messages dropped because the offline buffer was full.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    /// <summary>Celery: the SQL transports cannot carry events, so a dispatcher on them is disabled.</summary>
    public static bool IsDisabledTransport(string brokerUrl)
    {
        var scheme = brokerUrl.Split("://", 2)[0].ToLowerInvariant();
        return scheme == "sql" || scheme.StartsWith("sqla+", StringComparison.Ordinal) || scheme.StartsWith("sqlalchemy", StringComparison.Ordinal);
    }

    /// <summary>Celery's send(): honours enabled and groups; buffered groups are batched.</summary>
    public async Task SendAsync(string type, IEnumerable<KeyValuePair<string, object?>> fields, CancellationToken ct = default)
    {
        if (!Enabled) return;
        var group = EventFactory.GroupOf(type);
        if (Options.Groups.Count > 0 && !Options.Groups.Contains(group)) return;
        if (!Options.BufferGroups.Contains(group))
        {
            await PublishAsync(type, fields, ct);
            return;
        }
        // Buffered events are stamped now, not when flushed.
        var body = PythonJson.Dumps(Stamp(type, fields));
        bool full;
        await _mutex.WaitAsync(ct);
        try
        {
            if (!_groupBuffers.TryGetValue(group, out var buffer)) _groupBuffers[group] = buffer = [];
            buffer.Add(body);
            full = buffer.Count >= Options.BufferLimit;
        }
        finally
        {
            _mutex.Release();
        }
        if (full) await FlushAsync(errors: false, groups: true, ct);
    }

    /// <summary>Celery's publish(): sends at once, whether enabled or not (task-sent relies on that).</summary>
    public async Task PublishAsync(string type, IEnumerable<KeyValuePair<string, object?>> fields, CancellationToken ct = default)
    {
        var body = Encoding.UTF8.GetBytes(PythonJson.Dumps(Stamp(type, fields)));
        await _mutex.WaitAsync(ct);
        try
        {
            await PublishOrKeepAsync(EventFactory.RoutingKey(type), body, ct);
        }
        finally
        {
            _mutex.Release();
        }
    }

    /// <summary>
    /// Publishes what waited while offline (in order), then every group buffer as one list
    /// message each. Returns false when the broker is still unreachable (nothing is lost: the
    /// rest waits, in order, for the next flush).
    /// </summary>
    public async Task<bool> FlushAsync(bool errors = true, bool groups = true, CancellationToken ct = default)
    {
        await _mutex.WaitAsync(ct);
        try
        {
            if (errors) await DrainOutboundAsync(ct);
            if (groups)
                foreach (var (group, buffer) in _groupBuffers)
                {
                    if (buffer.Count == 0) continue; // as Celery ≥ 5.3: no empty "[]" batches
                    var body = Encoding.UTF8.GetBytes("[" + string.Join(", ", buffer) + "]");
                    buffer.Clear();
                    await PublishOrKeepAsync(group + ".multi", body, ct);
                }
            return _outbound.Count == 0;
        }
        finally
        {
            _mutex.Release();
        }
    }

    private List<KeyValuePair<string, object?>> Stamp(string type, IEnumerable<KeyValuePair<string, object?>> fields) =>
        EventFactory.Create(type, Options.Hostname, _utcoffset(), Pid, Clock.Forward(), fields, _now);

    // Under the mutex.
    private async Task PublishOrKeepAsync(string routingKey, byte[] body, CancellationToken ct)
    {
        if (_outbound.Count > 0 && Options.BufferWhileOffline)
        {
            Keep(routingKey, body); // behind what already waits: order is kept
            return;
        }
        try
        {
            await _transport.PublishAsync(routingKey, body, ct);
        }
        catch (Exception ex) when (Options.BufferWhileOffline && ex is not OperationCanceledException)
        {
            if (_outbound.Count == 0) _warn($"event broker unreachable ({ex.GetBaseException().Message}); keeping events until flush");
            Keep(routingKey, body);
        }
    }

    private void Keep(string routingKey, byte[] body)
    {
        if (_outbound.Count >= Options.OfflineLimit)
        {
            _outbound.RemoveFirst();
            var n = Interlocked.Increment(ref _overflowed);
            if (n == 1 || n % 1000 == 0) _warn($"offline event buffer full ({Options.OfflineLimit}): {n} oldest message(s) dropped so far");
        }
        _outbound.AddLast((routingKey, body));
    }

    // Under the mutex: republish in order; on the first failure the rest stays, in order.
    private async Task DrainOutboundAsync(CancellationToken ct)
    {
        while (_outbound.First is { } first)
        {
            try
            {
                await _transport.PublishAsync(first.Value.RoutingKey, first.Value.Body, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _warn($"flush: event broker still unreachable ({ex.GetBaseException().Message}); {_outbound.Count} message(s) kept");
                return;
            }
            _outbound.RemoveFirst();
        }
    }
}
