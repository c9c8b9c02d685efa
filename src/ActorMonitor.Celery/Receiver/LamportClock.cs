namespace ActorMonitor.Celery.Receiver;

/// <summary>
/// kombu's LamportClock: forward() = value + 1; adjust(other) = max(value, other) + 1. Guarded,
/// as kombu's is: a dispatcher's clock is shared by everything that sends from a process.
/// </summary>
public sealed class LamportClock
{
    private readonly Lock _lock = new();
    private long _value;

    public LamportClock(long value = 0) => _value = value;

    public long Value
    {
        get { lock (_lock) return _value; }
    }

    public long Forward()
    {
        lock (_lock) return ++_value;
    }

    public long Adjust(long other)
    {
        lock (_lock) return _value = Math.Max(_value, other) + 1;
    }
}
