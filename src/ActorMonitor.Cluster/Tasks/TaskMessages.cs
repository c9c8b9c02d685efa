using ActorMonitor.Celery.State;
using Akka.Actor;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>Any message routed to the task entity of <see cref="Uuid"/>.</summary>
public interface ITaskEntityMessage
{
    string Uuid { get; }
}

/// <summary>
/// Apply one task event (<paramref name="Seq"/>: the receiver's arrival order); the entity
/// answers <see cref="EventsApplied"/> to the sender.
/// </summary>
public sealed record ApplyTaskEvent(string Uuid, long DeliveryId, TaskEvent Event, long Seq = 0) : ITaskEntityMessage;

/// <summary>
/// Sent by a child task to its parent: add <paramref name="ChildUuid"/> to children, then answer
/// <see cref="EventsApplied"/> to <paramref name="AckTo"/> on the child's behalf.
/// </summary>
public sealed record AdoptChild(string Uuid, string ChildUuid, long DeliveryId, IActorRef AckTo) : ITaskEntityMessage;

/// <summary>Ask for a task; answered with <see cref="TaskReply"/>.</summary>
public sealed record GetTask(string Uuid) : ITaskEntityMessage;

/// <summary><see cref="Task"/> is null when no event for the uuid was ever applied.</summary>
public sealed record TaskReply(string Uuid, TaskSnapshot? Task);
