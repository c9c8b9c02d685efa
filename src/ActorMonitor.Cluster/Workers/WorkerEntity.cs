using ActorMonitor.Celery.State;
using Akka.Actor;
using Akka.Event;

namespace ActorMonitor.Cluster.Workers;

/// <summary>One Celery worker (entity id = hostname): heartbeats, fields, liveness.</summary>
public sealed class WorkerEntity : ReceiveActor
{
    public const string TypeName = "worker";

    private readonly WorkerState _state;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public WorkerEntity(string hostname)
    {
        _state = new WorkerState(hostname);
        Receive<ApplyWorkerEvents>(m =>
        {
            foreach (var ev in m.Events)
                if (_state.Apply(ev) is { } drift) _log.Warning("{0}", drift);
            Sender.Tell(new EventsApplied(m.DeliveryId));
        });
        Receive<GetWorker>(m => Sender.Tell(new WorkerReply(_state.Hostname, _state.Exists ? _state.ToSnapshot(m.AsOf) : null)));
    }

    public static Props Props(string hostname) => Akka.Actor.Props.Create<WorkerEntity>(hostname);
}
