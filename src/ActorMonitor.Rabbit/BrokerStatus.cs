namespace ActorMonitor.Rabbit;

/// <summary>What the consumer reports about the broker (health checks, stats).</summary>
public sealed class BrokerStatus
{
    private long _consumed, _acked, _overflowed, _reconnects;
    private volatile bool _connected;
    private volatile string? _lastError;

    public string Queue { get; internal set; } = "";
    public bool Connected { get => _connected; internal set => _connected = value; }
    public string? LastError { get => _lastError; internal set => _lastError = value; }
    public long Consumed => Interlocked.Read(ref _consumed);
    public long Acked => Interlocked.Read(ref _acked);

    /// <summary>Messages the broker dropped from a full queue (or expired by a configured TTL), counted from the overflow queue.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    internal void OnConsumed() => Interlocked.Increment(ref _consumed);
    internal void OnAcked(long messages) => Interlocked.Add(ref _acked, messages);
    internal long OnOverflowed() => Interlocked.Increment(ref _overflowed);
    internal void OnReconnect() => Interlocked.Increment(ref _reconnects);
}
