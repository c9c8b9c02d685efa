using ActorMonitor.Celery.Events;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// One broker message, decoded by its source. <paramref name="LocalReceived"/> overrides the
/// receiver's clock (a replay passes the recorded time); <paramref name="Redelivered"/> is the
/// broker's flag. The sender is answered <see cref="MessageApplied"/> once every entity has
/// applied the message's events, and <see cref="MessagesDurable"/> once a checkpoint covers it.
/// </summary>
public sealed record IngestMessage(long DeliveryId, string RoutingKey, DecodedMessage Message, double? LocalReceived = null, bool Redelivered = false);

/// <summary>Every event of the source's delivery is applied: the source may send more.</summary>
public sealed record MessageApplied(long DeliveryId);

/// <summary>These deliveries are covered by a checkpoint: the source may ack them to the broker.</summary>
public sealed record MessagesDurable(IReadOnlyList<long> DeliveryIds) : Akka.Event.IDeadLetterSuppression;

/// <summary>Checkpoint everything applied so far; answered with <see cref="CheckpointDone"/> (or a Status.Failure).</summary>
public sealed record CheckpointNow
{
    public static readonly CheckpointNow Instance = new();
}

public sealed record CheckpointDone
{
    public static readonly CheckpointDone Instance = new();
}

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
    IReadOnlyDictionary<RejectionCause, long> RejectionsByCause)
{
    /// <summary>Accepted events of no task or worker (they count in event_count only).</summary>
    public long OtherEvents { get; init; }

    /// <summary>Events an entity had already applied (redeliveries), not counted again.</summary>
    public long DuplicateEvents { get; init; }

    /// <summary>Redelivered messages recognised as already counted.</summary>
    public long DuplicateMessages { get; init; }

    /// <summary>Applied messages not yet covered by a checkpoint (not yet acked).</summary>
    public int AwaitingCheckpoint { get; init; }

    /// <summary>Checkpoints failed in a row (the store or the journal is unavailable, or a node does not answer).</summary>
    public int CheckpointFailures { get; init; }

    /// <summary>The last failure was a node that stopped answering or left, not the store or the journal.</summary>
    public bool CheckpointWaitsForNode { get; init; }

    /// <summary>Entity messages sent in batches to the relay of the node holding their shard (not counted across restarts).</summary>
    public long RelayedEvents { get; init; }

    /// <summary>Task and worker shards whose node this receiver knows (it batches events for those on other nodes).</summary>
    public int ShardHomes { get; init; }
}
