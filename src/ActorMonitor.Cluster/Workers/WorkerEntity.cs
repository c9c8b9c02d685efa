using ActorMonitor.Celery.State;
using Akka.Actor;
using Akka.Event;

namespace ActorMonitor.Cluster.Workers;

/// <summary>One Celery worker (entity id = hostname): heartbeats, fields, liveness.</summary>
public sealed class WorkerEntity : UntypedActor
{
    public const string TypeName = "worker";

    private readonly WorkerState _state;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public WorkerEntity(string hostname) => _state = new WorkerState(hostname);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ApplyWorkerEvents m:
                foreach (var ev in m.Events)
                    if (_state.Apply(ev) is { } drift) _log.Warning("{0}", drift);
                Sender.Tell(new EventsApplied(m.DeliveryId));
                break;
            case GetWorker m:
                Sender.Tell(new WorkerReply(_state.Hostname, _state.Exists ? _state.ToSnapshot(m.AsOf) : null));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(string hostname) => Akka.Actor.Props.CreateBy(new Producer(hostname));

    private sealed class Producer(string hostname) : IIndirectActorProducer
    {
        public Type ActorType => typeof(WorkerEntity);
        public ActorBase Produce() => new WorkerEntity(hostname);
        public void Release(ActorBase actor) { }
    }
}
