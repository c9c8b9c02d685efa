using Akka.Actor;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// Events for entities whose shards live on the relay's node, in the receiver's order: one
/// remote message for many (<see cref="Tasks.ApplyTaskEvent"/> and <see cref="Workers.ApplyWorkerEvents"/>).
/// </summary>
public sealed record RelayEvents(IReadOnlyList<object> Items);

/// <summary>The entities' answers to a receiver's relayed events, gathered into one remote message.</summary>
public sealed record AppliedBatch(IReadOnlyList<EventsApplied> Answers) : Akka.Event.IDeadLetterSuppression;

internal sealed record FlushAnswers
{
    public static readonly FlushAnswers Instance = new();
}

internal sealed record SweepRoutes
{
    public static readonly SweepRoutes Instance = new();
}
