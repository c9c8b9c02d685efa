using ActorMonitor.Celery.State;

namespace ActorMonitor.Cluster.Workers;

/// <summary>Any message routed to the worker entity of <see cref="Hostname"/>.</summary>
public interface IWorkerEntityMessage
{
    string Hostname { get; }
}

/// <summary>
/// The events of one broker message that concern this worker, in order (its worker-* events and
/// the task events that count as its heartbeats). Answered with <see cref="EventsApplied"/>.
/// </summary>
public sealed record ApplyWorkerEvents(string Hostname, long DeliveryId, IReadOnlyList<WorkerEvent> Events) : IWorkerEntityMessage;

/// <summary>Ask for a worker, "alive" judged at <paramref name="AsOf"/>; answered with <see cref="WorkerReply"/>.</summary>
public sealed record GetWorker(string Hostname, double AsOf) : IWorkerEntityMessage;

/// <summary><see cref="Worker"/> is null when Celery's State would not hold this hostname.</summary>
public sealed record WorkerReply(string Hostname, WorkerSnapshot? Worker);
