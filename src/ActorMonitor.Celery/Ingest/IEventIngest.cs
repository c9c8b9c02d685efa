using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.Ingest;

/// <summary>
/// Where a transport hands the messages it receives: a monitor node. A message is applied once
/// its events are in the state, and durable once a checkpoint covers it, the moment the broker
/// may be told it is done with.
/// </summary>
public interface IEventIngest
{
    /// <summary>A decoder with the node's limits (body size, JSON depth).</summary>
    EventDecoder CreateDecoder();

    /// <summary>A feed of messages into the node; <paramref name="onDurable"/> gets the delivery ids each checkpoint covers.</summary>
    IIngestFeed OpenFeed(Action<IReadOnlyList<long>> onDurable);

    /// <summary>Makes every message applied so far durable (a checkpoint), within <paramref name="timeout"/>.</summary>
    Task CheckpointAsync(TimeSpan timeout);

    /// <summary>Cancelled once the cluster downed the node: its messages are the other nodes' now, so stop at once and ack nothing more.</summary>
    CancellationToken Downed { get; }

    /// <summary>The node's log, for what the transport tells an operator.</summary>
    IIngestLog Log { get; }
}

/// <summary>Messages sent into a node, with flow control: a send waits while too many are in flight.</summary>
public interface IIngestFeed : IAsyncDisposable
{
    /// <summary>Waits for room, then hands the message to the node under the sender's own <paramref name="deliveryId"/>.</summary>
    ValueTask<long> SendAsync(string routingKey, DecodedMessage message, double? localReceived, long deliveryId, CancellationToken ct, bool redelivered = false);

    /// <summary>Completes when every message sent so far has been applied.</summary>
    Task WhenAllAppliedAsync(CancellationToken ct = default);
}

/// <summary>Log lines, as format and arguments ({0}, {1}, ...).</summary>
public interface IIngestLog
{
    void Info(string format, params object?[] args);
    void Warning(string format, params object?[] args);
    void Error(string format, params object?[] args);
}
