using ActorMonitor.Client;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using Akka.Actor;
using Akka.Event;

namespace ActorMonitor.Cluster.Workers;

/// <summary>
/// One Celery worker (entity id = hostname): heartbeats, fields, liveness, each event applied once;
/// its row goes to and from the node's keeper (see <see cref="StoredEntity{TRecord}"/>).
/// </summary>
public sealed class WorkerEntity(string hostname, IActorRef keeper, IActorRef? metrics = null)
    : StoredEntity<WorkerRecord>(EntityKind.Worker, hostname, keeper)
{
    public const string TypeName = Client.MonitorClient.WorkerTypeName;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Not in the row: known again from the next worker-* event after a restart.
    private double? _lastEventAt, _drift;

    /// <summary>The node's metrics actor holds this worker's gauges while its entity lives here.</summary>
    protected override void Loaded(WorkerRecord record)
    {
        if (record.State.Exists) Report(record);
    }

    protected override void PostStop()
    {
        metrics?.Tell(new WorkerReleased(Id, HandedOff: !PassivatedItself));
        base.PostStop();
    }

    private void Report(WorkerRecord record, IReadOnlyList<string>? applied = null)
    {
        if (metrics is null) return;
        var s = record.State;
        metrics.Tell(new WorkerObserved(Id, s.Heartbeats.ToArray(), s.Freq, RawJson.AsNumber(s["active"]), RawJson.AsNumber(s["processed"]),
            s["loadavg"], _lastEventAt, _drift, s.Heartbeats.Count == 0, applied));
    }

    /// <summary>The worker-* type of a subject, without a new string for Celery's own three.</summary>
    private static string TypeOf(string subject) => subject switch
    {
        "heartbeat" => "worker-heartbeat",
        "online" => "worker-online",
        "offline" => "worker-offline",
        _ => "worker-" + subject,
    };

    protected override WorkerRecord NewRecord() => new(Id);
    protected override WorkerRecord FromRow(byte[] row) => WorkerRecord.FromRow(Id, row);
    protected override EntityRow ToRow(WorkerRecord record, long cycleId) => EntityRows.Worker(record, cycleId);

    protected override bool Handle(WorkerRecord record, object message)
    {
        switch (message)
        {
            case ApplyWorkerEvents m:
                List<ulong>? duplicates = null;
                List<string>? applied = null;
                var changed = false;
                foreach (var ev in m.Events)
                {
                    if (record.Apply(ev, out var drift))
                    {
                        Changed();
                        changed = true;
                        _lastEventAt = Math.Max(_lastEventAt ?? 0, ev.LocalReceived);
                        if (!ev.IsTaskHeartbeat && ev.LocalReceived != 0 && ev.Timestamp != 0) _drift = ev.LocalReceived - ev.Timestamp;
                        if (!ev.IsTaskHeartbeat) (applied ??= []).Add(TypeOf(ev.Subject));
                    }
                    // A task event's heartbeat copy is the task entity's to report as a duplicate.
                    else if (!ev.IsTaskHeartbeat) (duplicates ??= []).Add(ev.Id);
                    if (drift is not null) _log.Warning("{0}", drift);
                }
                Answer(Sender, new EventsApplied(m.DeliveryId, duplicates));
                if (changed && record.State.Exists) Report(record, applied);
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

    public static Func<string, Props> PropsFor(IActorRef keeper, IActorRef? metrics = null) =>
        hostname => Akka.Actor.Props.CreateBy(new Producer(hostname, keeper, metrics));

    private sealed class Producer(string hostname, IActorRef keeper, IActorRef? metrics) : IIndirectActorProducer
    {
        public Type ActorType => typeof(WorkerEntity);
        public ActorBase Produce() => new WorkerEntity(hostname, keeper, metrics);
        public void Release(ActorBase actor) { }
    }
}
