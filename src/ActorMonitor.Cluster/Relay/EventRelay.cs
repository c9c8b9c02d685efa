using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// One per monitor node: takes a remote receiver's events for this node's shards as one message,
/// hands each to the local shard region as if it were the receiver (under an id of its own), and
/// sends the entities' answers back gathered per receiver. Without it, every event and every
/// answer would cross the network as a message of its own.
/// The region stays the authority on where an entity lives: an event for a shard that moved is
/// forwarded by it, and the answer still comes here.
/// </summary>
public sealed class EventRelay : UntypedActor, IWithTimers
{
    private readonly IActorRef _tasks;
    private readonly IActorRef _workers;
    private readonly RelayRoutes _routes = new();
    private readonly Dictionary<IActorRef, List<EventsApplied>> _answers = new();

    public EventRelay(IActorRef tasks, IActorRef workers)
    {
        _tasks = tasks;
        _workers = workers;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef tasks, IActorRef workers) => Akka.Actor.Props.Create(() => new EventRelay(tasks, workers));

    /// <summary>The relay's actor name on every monitor node.</summary>
    public const string Name = "event-relay";

    protected override void PreStart() =>
        Timers.StartPeriodicTimer("sweep", SweepRoutes.Instance, RelayRoutes.Expiry);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case RelayEvents batch:
                foreach (var item in batch.Items) Forward(item);
                break;
            case EventsApplied a:
                if (!_routes.TryComplete(a.DeliveryId, out var receiver, out var delivery)) break;
                if (!_answers.TryGetValue(receiver, out var list))
                {
                    if (_answers.Count == 0) Timers.StartSingleTimer("flush", FlushAnswers.Instance, RelayRouting.GatherFor);
                    _answers[receiver] = list = [];
                }
                list.Add(a with { DeliveryId = delivery });
                break;
            case FlushAnswers:
                foreach (var (to, answers) in _answers) to.Tell(new AppliedBatch(answers));
                _answers.Clear();
                break;
            case SweepRoutes:
                _routes.Sweep();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Forward(object item)
    {
        switch (item)
        {
            case ApplyTaskEvent t:
                _tasks.Tell(t with { DeliveryId = _routes.Add(Sender, t.DeliveryId) });
                break;
            case ApplyWorkerEvents w:
                _workers.Tell(w with { DeliveryId = _routes.Add(Sender, w.DeliveryId) });
                break;
        }
    }
}
