using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Receiver;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.Event;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// Celery's EventReceiver as an actor: owns the Lamport clock, applies the receiver rules in
/// message order, and fans each event out to its task and worker entities and to the index.
/// A message is answered <see cref="MessageApplied"/> only when every entity acknowledged it.
/// </summary>
public sealed class EventReceiverActor : ReceiveActor
{
    private sealed class InFlight(IActorRef source, long sourceDeliveryId, int remaining)
    {
        public IActorRef Source { get; } = source;
        public long SourceDeliveryId { get; } = sourceDeliveryId;
        public int Remaining { get; set; } = remaining;
    }

    private readonly ReceiverRules _rules;
    private readonly Func<double> _now;
    private readonly IActorRef _tasks;
    private readonly IActorRef _workers;
    private readonly IActorRef _index;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<long, InFlight> _inFlight = new();
    private readonly Dictionary<RejectionCause, long> _rejections = new();
    private readonly List<IActorRef> _drainWaiters = [];
    private long _sequence;
    private long _messages, _rejectedMessages, _acceptedEvents, _rejectedEvents;
    private double? _lastLocalReceived;

    public EventReceiverActor(IActorRef tasks, IActorRef workers, IActorRef index, Func<long> hereUtcOffset, Func<double> now)
    {
        _tasks = tasks;
        _workers = workers;
        _index = index;
        _now = now;
        _rules = new ReceiverRules(hereUtcOffset);

        Receive<IngestMessage>(Ingest);
        Receive<EventsApplied>(OnApplied);
        Receive<DrainReceiver>(_ =>
        {
            _drainWaiters.Add(Sender);
            CompleteDrainIfIdle();
        });
        Receive<GetReceiverStats>(_ => Sender.Tell(new ReceiverStats(
            _messages, _rejectedMessages, _acceptedEvents, _rejectedEvents, _rules.Clock.Value,
            _lastLocalReceived, _inFlight.Count, new Dictionary<RejectionCause, long>(_rejections))));
    }

    public static Props Props(IActorRef tasks, IActorRef workers, IActorRef index, Func<long> hereUtcOffset, Func<double> now) =>
        Akka.Actor.Props.Create(() => new EventReceiverActor(tasks, workers, index, hereUtcOffset, now));

    private void Ingest(IngestMessage m)
    {
        _messages++;
        var localReceived = m.LocalReceived ?? _now();
        _lastLocalReceived = localReceived;
        if (m.Message.HasRejections) CountRejections(m);

        var delivery = ++_sequence;
        var pending = 0;
        var events = m.Message.Events;
        var index = new IndexEntry[events.Count];
        Dictionary<string, List<WorkerEvent>>? byWorker = null;

        for (var i = 0; i < events.Count; i++)
        {
            var ev = events[i];
            _rules.Apply(ev, localReceived);
            index[i] = IndexEntry.From(ev);
            if (ev.IsTaskEvent)
            {
                _tasks.Tell(new ApplyTaskEvent(ev.Uuid!, delivery, TaskEvent.From(ev)));
                pending++;
                if (ev.Subject != "sent") WorkerBatch(ref byWorker, ev.Hostname!).Add(WorkerEvent.TaskHeartbeat(ev));
            }
            else if (ev.IsWorkerEvent)
            {
                WorkerBatch(ref byWorker, ev.Hostname!).Add(WorkerEvent.From(ev));
            }
        }
        _acceptedEvents += events.Count;

        if (byWorker is not null)
            foreach (var (hostname, batch) in byWorker)
            {
                _workers.Tell(new ApplyWorkerEvents(hostname, delivery, batch));
                pending++;
            }

        if (index.Length > 0) _index.Tell(new IndexEvents(index));

        if (pending == 0) Sender.Tell(new MessageApplied(m.DeliveryId));
        else _inFlight[delivery] = new InFlight(Sender, m.DeliveryId, pending);
    }

    private static List<WorkerEvent> WorkerBatch(ref Dictionary<string, List<WorkerEvent>>? byWorker, string hostname)
    {
        byWorker ??= new Dictionary<string, List<WorkerEvent>>(StringComparer.Ordinal);
        if (!byWorker.TryGetValue(hostname, out var list)) byWorker[hostname] = list = new List<WorkerEvent>(4);
        return list;
    }

    private void OnApplied(EventsApplied a)
    {
        if (!_inFlight.TryGetValue(a.DeliveryId, out var f)) return;
        if (--f.Remaining > 0) return;
        _inFlight.Remove(a.DeliveryId);
        f.Source.Tell(new MessageApplied(f.SourceDeliveryId));
        CompleteDrainIfIdle();
    }

    private void CountRejections(IngestMessage m)
    {
        _rejectedMessages++;
        foreach (var r in m.Message.Rejections)
        {
            _rejectedEvents++;
            _rejections.TryGetValue(r.Cause, out var n);
            _rejections[r.Cause] = n + 1;
            if (n == 0)
                _log.Warning("Rejected a message on routing key [{0}]: {1}. Further rejections for this cause are counted, not logged.",
                    m.RoutingKey, r);
        }
    }

    private void CompleteDrainIfIdle()
    {
        if (_inFlight.Count > 0 || _drainWaiters.Count == 0) return;
        foreach (var waiter in _drainWaiters) _index.Tell(new FlushIndex(waiter, ReceiverDrained.Instance));
        _drainWaiters.Clear();
    }
}
