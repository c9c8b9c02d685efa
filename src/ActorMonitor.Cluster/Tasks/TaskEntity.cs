using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>
/// One Celery task (entity id = uuid): loads its stored row as it starts, applies each event once
/// with Celery's Task rules, links the task to its parent, answers GetTask, and hands its row to
/// the node's <see cref="StateKeeper"/> when asked (checkpoint) or before it stops.
/// </summary>
// An UntypedActor: one is created per task, and ReceiveActor builds its handler table per instance.
public sealed class TaskEntity : UntypedActor, IWithUnboundedStash
{
    public const string TypeName = "task";

    private readonly string _uuid;
    private readonly Func<IActorRef> _taskRegion;
    private readonly IActorRef _keeper;
    private TaskRecord? _record; // null while the row is loading
    private bool _dirty, _stopping;

    public TaskEntity(string uuid, Func<IActorRef> taskRegion, IActorRef keeper)
    {
        _uuid = uuid;
        _taskRegion = taskRegion;
        _keeper = keeper;
    }

    public IStash Stash { get; set; } = null!;

    protected override void PreStart() => _keeper.Tell(new LoadEntity(EntityKind.Task, _uuid));

    protected override void OnReceive(object message)
    {
        if (_record is null)
        {
            if (message is RowLoaded loaded)
            {
                _record = loaded.Data is null ? new TaskRecord(_uuid) : TaskRecord.FromRow(_uuid, loaded.Data);
                Stash.UnstashAll();
            }
            else Stash.Stash();
            return;
        }

        switch (message)
        {
            case ApplyTaskEvent m:
                Apply(_record, m);
                break;
            case AdoptChild m:
                if (_record.State.AddChild(m.ChildUuid)) Changed();
                m.AckTo.Tell(new EventsApplied(m.DeliveryId));
                break;
            case GetTask:
                Sender.Tell(new TaskReply(_uuid, _record.State.Exists ? _record.State.ToSnapshot() : null));
                if (_record.State.Exists) _keeper.Tell(new EntityTouched(EntityKind.Task, _uuid));
                else if (!_dirty) Context.Parent.Tell(new Passivate(StopEntity.Instance)); // asked for an unknown task
                break;
            case CollectRow c:
                Sender.Tell(StoredRows.Task(_record, c.CycleId));
                _dirty = false;
                break;
            case PassivateEntity:
                Context.Parent.Tell(new Passivate(StopEntity.Instance));
                break;
            case StopEntity:
                _stopping = true;
                SaveOrStop();
                break;
            case RowSaved:
                SaveOrStop();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void SaveOrStop()
    {
        if (!_dirty)
        {
            Context.Stop(Self);
            return;
        }
        _dirty = false;
        _keeper.Tell(new SaveAndStop(StoredRows.Task(_record!, 0)));
    }

    private void Changed()
    {
        if (_dirty || _stopping) { _dirty = true; return; }
        _dirty = true;
        _keeper.Tell(new EntityDirty(EntityKind.Task, _uuid));
    }

    // One entity per task: Props.Create(() => new ...) compiles an expression per call and the
    // argument form binds the constructor by reflection; a producer just calls it.
    public static Func<string, Props> PropsFor(IActorRef keeper) => uuid => Akka.Actor.Props.CreateBy(new Producer(uuid, keeper));

    private static readonly Func<IActorRef> RegionOfThisSystem = () => ClusterSharding.Get(Context.System).ShardRegion(TypeName);

    private sealed class Producer(string uuid, IActorRef keeper) : IIndirectActorProducer
    {
        public Type ActorType => typeof(TaskEntity);
        public ActorBase Produce() => new TaskEntity(uuid, RegionOfThisSystem, keeper);
        public void Release(ActorBase actor) { }
    }

    private void Apply(TaskRecord record, ApplyTaskEvent m)
    {
        if (!record.Apply(m.Event, m.Seq))
        {
            Sender.Tell(new EventsApplied(m.DeliveryId, [m.Event.Id]));
            return;
        }
        Changed();

        // Celery links a task to its parent after every event whose task has a parent_id; each
        // parent is told once. The parent acknowledges on this event's behalf.
        var parent = record.State.ParentId;
        if (!string.IsNullOrEmpty(parent) && record.FirstLinkTo(parent))
        {
            if (parent == _uuid) record.State.AddChild(parent); // a retried task is its own child
            else
            {
                _taskRegion().Tell(new AdoptChild(parent, _uuid, m.DeliveryId, Sender));
                return;
            }
        }
        Sender.Tell(new EventsApplied(m.DeliveryId));
    }
}
