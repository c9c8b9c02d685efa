using ActorMonitor.Celery.State;
using ActorMonitor.Client;
using Akka.Actor;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>
/// Apply one task event (<paramref name="Seq"/>: the receiver's arrival order); the entity
/// answers <see cref="EventsApplied"/> to the sender.
/// </summary>
public sealed record ApplyTaskEvent(string Uuid, long DeliveryId, TaskEvent Event, long Seq = 0) : ITaskEntityMessage;

/// <summary>
/// Sent by a child task to its parent: add <paramref name="ChildUuid"/> to children, then answer
/// <see cref="EventsApplied"/> to <paramref name="AckTo"/> on the child's behalf. A child that had
/// already applied the event (a redelivery, or a re-send after a node was lost) still tells its
/// parent, which may have lost the link with that node: <paramref name="DuplicateOf"/> then names
/// the event, and the parent reports it as a duplicate.
/// </summary>
public sealed record AdoptChild(string Uuid, string ChildUuid, long DeliveryId, IActorRef AckTo, ulong DuplicateOf = 0) : ITaskEntityMessage;
