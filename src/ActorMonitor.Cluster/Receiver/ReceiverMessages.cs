using ActorMonitor.Celery.Events;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// One broker message, decoded by its source. <paramref name="LocalReceived"/> overrides the
/// receiver's clock (a replay passes the recorded time). The sender is answered
/// <see cref="MessageApplied"/> once every entity has applied the message's events.
/// </summary>
public sealed record IngestMessage(long DeliveryId, string RoutingKey, DecodedMessage Message, double? LocalReceived = null);

/// <summary>Every event of the source's delivery is applied: the source may ack it and send more.</summary>
public sealed record MessageApplied(long DeliveryId);

/// <summary>Answered with <see cref="ReceiverDrained"/> once nothing is in flight and the index has caught up.</summary>
public sealed record DrainReceiver
{
    public static readonly DrainReceiver Instance = new();
}

public sealed record ReceiverDrained
{
    public static readonly ReceiverDrained Instance = new();
}

/// <summary>Answered with <see cref="ReceiverStats"/>.</summary>
public sealed record GetReceiverStats
{
    public static readonly GetReceiverStats Instance = new();
}

public sealed record ReceiverStats(
    long Messages,
    long RejectedMessages,
    long AcceptedEvents,
    long RejectedEvents,
    long Clock,
    double? LastLocalReceived,
    int InFlight,
    IReadOnlyDictionary<RejectionCause, long> RejectionsByCause);
