namespace ActorMonitor.Celery.Receiver;

/// <summary>kombu's LamportClock: forward() = value + 1; adjust(other) = max(value, other) + 1.</summary>
public sealed class LamportClock
{
    public LamportClock(long value = 0) => Value = value;

    public long Value { get; private set; }

    public long Forward() => ++Value;

    public long Adjust(long other) => Value = Math.Max(Value, other) + 1;
}
