using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace ActorMonitor.Cluster.Workers;

/// <summary>
/// One Celery worker (entity id = hostname): heartbeats, fields, liveness. Loads its stored row as
/// it starts and applies each event once; see <see cref="Tasks.TaskEntity"/> for the row hand-over.
/// </summary>
public sealed class WorkerEntity : UntypedActor, IWithUnboundedStash
{
    public const string TypeName = "worker";

    private readonly string _hostname;
    private readonly IActorRef _keeper;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private WorkerRecord? _record;
    private bool _dirty, _stopping;

    public WorkerEntity(string hostname, IActorRef keeper)
    {
        _hostname = hostname;
        _keeper = keeper;
    }

    public IStash Stash { get; set; } = null!;

    protected override void PreStart() => _keeper.Tell(new LoadEntity(EntityKind.Worker, _hostname));

    protected override void OnReceive(object message)
    {
        if (_record is null)
        {
            if (message is RowLoaded loaded)
            {
                _record = loaded.Data is null ? new WorkerRecord(_hostname) : WorkerRecord.FromRow(_hostname, loaded.Data);
                Stash.UnstashAll();
            }
            else Stash.Stash();
            return;
        }

        switch (message)
        {
            case ApplyWorkerEvents m:
                List<ulong>? duplicates = null;
                foreach (var ev in m.Events)
                {
                    // A task event's heartbeat copy is the task entity's to report as a duplicate.
                    if (!_record.Apply(ev, out var drift))
                    {
                        if (!ev.IsTaskHeartbeat) (duplicates ??= []).Add(ev.Id);
                    }
                    else Changed();
                    if (drift is not null) _log.Warning("{0}", drift);
                }
                Sender.Tell(new EventsApplied(m.DeliveryId, duplicates));
                break;
            case GetWorker m:
                Sender.Tell(new WorkerReply(_hostname, _record.State.Exists ? _record.State.ToSnapshot(m.AsOf) : null));
                if (_record.State.Exists) _keeper.Tell(new EntityTouched(EntityKind.Worker, _hostname));
                else if (!_dirty) Context.Parent.Tell(new Passivate(StopEntity.Instance));
                break;
            case CollectRow c:
                Sender.Tell(StoredRows.Worker(_record, c.CycleId));
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
        _keeper.Tell(new SaveAndStop(StoredRows.Worker(_record!, 0)));
    }

    private void Changed()
    {
        if (_dirty || _stopping) { _dirty = true; return; }
        _dirty = true;
        _keeper.Tell(new EntityDirty(EntityKind.Worker, _hostname));
    }

    public static Func<string, Props> PropsFor(IActorRef keeper) => hostname => Akka.Actor.Props.CreateBy(new Producer(hostname, keeper));

    private sealed class Producer(string hostname, IActorRef keeper) : IIndirectActorProducer
    {
        public Type ActorType => typeof(WorkerEntity);
        public ActorBase Produce() => new WorkerEntity(hostname, keeper);
        public void Release(ActorBase actor) { }
    }
}
