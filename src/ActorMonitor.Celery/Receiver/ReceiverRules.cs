using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.Receiver;

/// <summary>
/// Celery's EventReceiver.event_from_message, applied in message order by one owner of the
/// Lamport clock: the task-sent clock rewrite, clock adjust/forward, the utcoffset timestamp
/// adjustment and local_received.
/// </summary>
public sealed class ReceiverRules
{
    // Celery's CLIENT_CLOCK_SKEW: clients never sync, so task-sent takes the receiver's clock minus one.
    private const long ClientClockSkew = -1;

    private readonly Func<long> _hereUtcOffset;

    public ReceiverRules(Func<long> hereUtcOffset, LamportClock? clock = null)
    {
        _hereUtcOffset = hereUtcOffset;
        Clock = clock ?? new LamportClock();
    }

    public LamportClock Clock { get; }

    public void Apply(CeleryEvent ev, double localReceived)
    {
        if (ev.Type == "task-sent")
        {
            var rewritten = (Clock.Value == 0 ? 1 : Clock.Value) + ClientClockSkew;
            ev.Clock = rewritten;
            Clock.Adjust(rewritten);
        }
        else if (ev.Clock is { } clock)
        {
            Clock.Adjust(clock);
        }
        else
        {
            ev.Clock = Clock.Forward();
        }

        if (ev.UtcOffset is { } offset && ev.Timestamp is { } ts)
            ev.Timestamp = UtcOffset.Adjust(ts, offset, _hereUtcOffset());

        ev.LocalReceived = localReceived;
    }
}
