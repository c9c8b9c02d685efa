using ActorMonitor.Celery.State;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>
/// One Celery task (entity id = uuid): applies its events with Celery's Task rules, links it to
/// its parent, answers GetTask.
/// </summary>
public sealed class TaskEntity : ReceiveActor
{
    public const string TypeName = "task";

    private readonly TaskState _state;
    private readonly Func<IActorRef> _taskRegion;
    private HashSet<string>? _adoptedBy;

    public TaskEntity(string uuid, Func<IActorRef> taskRegion)
    {
        _state = new TaskState(uuid);
        _taskRegion = taskRegion;

        Receive<ApplyTaskEvent>(Apply);
        Receive<AdoptChild>(m =>
        {
            _state.AddChild(m.ChildUuid);
            m.AckTo.Tell(new EventsApplied(m.DeliveryId));
        });
        Receive<GetTask>(_ => Sender.Tell(new TaskReply(_state.Uuid, _state.Exists ? _state.ToSnapshot() : null)));
    }

    // Props.Create(() => new ...) compiles an expression tree per call: far too slow for one
    // entity per task. The argument form uses the constructor directly.
    public static Props Props(string uuid) => Akka.Actor.Props.Create<TaskEntity>(uuid, RegionOfThisSystem);

    private static readonly Func<IActorRef> RegionOfThisSystem = () => ClusterSharding.Get(Context.System).ShardRegion(TypeName);

    private void Apply(ApplyTaskEvent m)
    {
        _state.Apply(m.Event);

        // Celery links a task to its parent after every event whose task has a parent_id; the
        // set makes repeats idempotent, so each parent is told once. The parent acknowledges.
        var parent = _state.ParentId;
        if (!string.IsNullOrEmpty(parent) && (_adoptedBy ??= []).Add(parent))
        {
            if (parent == _state.Uuid) _state.AddChild(parent); // a retried task is its own child
            else
            {
                _taskRegion().Tell(new AdoptChild(parent, _state.Uuid, m.DeliveryId, Sender));
                return;
            }
        }
        Sender.Tell(new EventsApplied(m.DeliveryId));
    }
}
