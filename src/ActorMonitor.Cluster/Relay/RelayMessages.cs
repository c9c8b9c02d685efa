using Akka.Actor;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// Events for entities whose shards live on the relay's node, in the receiver's order: one
/// remote message for many (<see cref="Tasks.ApplyTaskEvent"/> and <see cref="Workers.ApplyWorkerEvents"/>).
/// </summary>
public sealed record RelayEvents(IReadOnlyList<object> Items);

/// <summary>Entities' answers to one receiver, gathered by their node's keeper into one message.</summary>
public sealed record AppliedBatch(IReadOnlyList<EventsApplied> Answers) : Akka.Event.IDeadLetterSuppression;
