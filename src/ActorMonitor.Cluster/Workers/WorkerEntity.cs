using ActorMonitor.Client;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using Akka.Actor;
using Akka.Event;

namespace ActorMonitor.Cluster.Workers;

/// <summary>
/// One Celery worker (entity id = hostname): heartbeats, fields, liveness, each event applied once;
/// its row goes to and from the node's keeper (see <see cref="StoredEntity{TRecord}"/>).
/// </summary>
public sealed class WorkerEntity(string hostname, IActorRef keeper) : StoredEntity<WorkerRecord>(EntityKind.Worker, hostname, keeper)
{
    public const string TypeName = Client.MonitorClient.WorkerTypeName;

    private readonly ILoggingAdapter _log = Context.GetLogger();

    protected override WorkerRecord NewRecord() => new(Id);
    protected override WorkerRecord FromRow(byte[] row) => WorkerRecord.FromRow(Id, row);
    protected override EntityRow ToRow(WorkerRecord record, long cycleId) => StoredRows.Worker(record, cycleId);

    protected override bool Handle(WorkerRecord record, object message)
    {
        switch (message)
        {
            case ApplyWorkerEvents m:
                List<ulong>? duplicates = null;
                foreach (var ev in m.Events)
                {
                    if (record.Apply(ev, out var drift)) Changed();
                    // A task event's heartbeat copy is the task entity's to report as a duplicate.
                    else if (!ev.IsTaskHeartbeat) (duplicates ??= []).Add(ev.Id);
                    if (drift is not null) _log.Warning("{0}", drift);
                }
                Sender.Tell(new EventsApplied(m.DeliveryId, duplicates));
                return true;
            case GetWorker m:
                Sender.Tell(new WorkerReply(Id, record.State.Exists ? record.State.ToSnapshot(m.AsOf) : null));
                if (record.State.Exists) Touched();
                else PassivateIfUnchanged();
                return true;
            default:
                return false;
        }
    }

    public static Func<string, Props> PropsFor(IActorRef keeper) => hostname => Akka.Actor.Props.CreateBy(new Producer(hostname, keeper));

    private sealed class Producer(string hostname, IActorRef keeper) : IIndirectActorProducer
    {
        public Type ActorType => typeof(WorkerEntity);
        public ActorBase Produce() => new WorkerEntity(hostname, keeper);
        public void Release(ActorBase actor) { }
    }
}
