using Akka.Actor;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// One per monitor node: takes a remote receiver's events for this node's shards as one message
/// and hands each to the local shard region on the receiver's behalf. The entities answer through
/// this node's keeper, which sends the answers back gathered per receiver. Without it, every event
/// would cross the network as a message of its own.
/// The region stays the authority on where an entity lives: an event for a shard that moved is
/// forwarded by it, and the answer still reaches the receiver.
/// </summary>
public sealed class EventRelay : UntypedActor
{
    private readonly IActorRef _tasks;
    private readonly IActorRef _workers;

    public EventRelay(IActorRef tasks, IActorRef workers)
    {
        _tasks = tasks;
        _workers = workers;
    }

    public static Props Props(IActorRef tasks, IActorRef workers) => Akka.Actor.Props.Create(() => new EventRelay(tasks, workers));

    /// <summary>The relay's actor name on every monitor node.</summary>
    public const string Name = "event-relay";

    protected override void OnReceive(object message)
    {
        if (message is not RelayEvents batch)
        {
            Unhandled(message);
            return;
        }
        foreach (var item in batch.Items)
        {
            switch (item)
            {
                case Tasks.ApplyTaskEvent t:
                    _tasks.Tell(t, Sender);
                    break;
                case Workers.ApplyWorkerEvents w:
                    _workers.Tell(w, Sender);
                    break;
            }
        }
    }
}
