using ActorMonitor.Celery.State;
using ActorMonitor.Client;

namespace ActorMonitor.Cluster.Workers;

/// <summary>
/// The events of one broker message that concern this worker, in order (its worker-* events and
/// the task events that count as its heartbeats). Answered with <see cref="EventsApplied"/>.
/// </summary>
public sealed record ApplyWorkerEvents(string Hostname, long DeliveryId, IReadOnlyList<WorkerEvent> Events) : IWorkerEntityMessage;
