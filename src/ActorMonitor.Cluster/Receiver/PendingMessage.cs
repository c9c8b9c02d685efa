using ActorMonitor.Celery.State;
using Akka.Actor;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>One broker message in the receiver, from its arrival until a checkpoint made it durable.</summary>
internal sealed class PendingMessage(long delivery, IActorRef source, long sourceId, ulong bodyHash, IngestMessage message, IndexEntry[] entries, ulong[] ids)
{
    /// <summary>The id entities answer to; a new one for each re-send, so late answers to an older send are ignored.</summary>
    public long Delivery { get; set; } = delivery;
    public IActorRef Source { get; } = source;
    public long SourceId { get; } = sourceId;
    public ulong BodyHash { get; } = bodyHash;
    public IngestMessage Message { get; } = message;
    public IndexEntry[] Entries { get; } = entries;
    public ulong[] Ids { get; } = ids;
    public int Remaining { get; set; }
    public HashSet<ulong>? Duplicates { get; set; }

    /// <summary>The arrival sequence of each task event (0 for other events), the same on every send.</summary>
    public long[] Seqs { get; init; } = [];

    /// <summary>Counted and indexed already; now only waiting to be durable (or re-applied after a node loss).</summary>
    public bool Released { get; set; }

    /// <summary>Sent again: entities that applied the first send now call it a duplicate, which it is not.</summary>
    public bool Resent { get; set; }

    public DateTime SentAt { get; set; }

    /// <summary>A redelivery of a message already counted: acked with the next checkpoint, never counted again.</summary>
    public bool IsRedelivery { get; init; }

    /// <summary>The Lamport clock and local_received once this message's rules were applied.</summary>
    public long ClockAfter { get; set; }
    public double? LocalReceivedAfter { get; set; }
}
