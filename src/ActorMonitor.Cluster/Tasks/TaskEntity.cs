using ActorMonitor.Celery.State;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>
/// One Celery task (entity id = uuid): applies its events with Celery's Task rules, links it to
/// its parent, answers GetTask.
/// </summary>
// An UntypedActor: one is created per task, and ReceiveActor builds its handler table per instance.
public sealed class TaskEntity : UntypedActor
{
    public const string TypeName = "task";

    private readonly TaskState _state;
    private readonly Func<IActorRef> _taskRegion;
    private HashSet<string>? _adoptedBy;

    public TaskEntity(string uuid, Func<IActorRef> taskRegion)
    {
        _state = new TaskState(uuid);
        _taskRegion = taskRegion;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ApplyTaskEvent m:
                Apply(m);
                break;
            case AdoptChild m:
                _state.AddChild(m.ChildUuid);
                m.AckTo.Tell(new EventsApplied(m.DeliveryId));
                break;
            case GetTask:
                Sender.Tell(new TaskReply(_state.Uuid, _state.Exists ? _state.ToSnapshot() : null));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    // One entity per task: Props.Create(() => new ...) compiles an expression per call and the
    // argument form binds the constructor by reflection; a producer just calls it.
    public static Props Props(string uuid) => Akka.Actor.Props.CreateBy(new Producer(uuid));

    private static readonly Func<IActorRef> RegionOfThisSystem = () => ClusterSharding.Get(Context.System).ShardRegion(TypeName);

    private sealed class Producer(string uuid) : IIndirectActorProducer
    {
        public Type ActorType => typeof(TaskEntity);
        public ActorBase Produce() => new TaskEntity(uuid, RegionOfThisSystem);
        public void Release(ActorBase actor) { }
    }

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
