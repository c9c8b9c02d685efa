using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Receiver;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using ActorMonitor.Store;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// Celery's EventReceiver as an actor: owns the Lamport clock, applies the receiver rules in
/// message order, and fans each event out to its task and worker entities (through the
/// <see cref="EventRouter"/>: events for another node's shards go there in batches). A message is
/// answered <see cref="MessageApplied"/> when every entity applied it, and, later,
/// <see cref="MessagesDurable"/> when a checkpoint covers it (its <see cref="CheckpointCoordinator"/>:
/// the keepers' commits of the changed rows, then the counters in the journal): only then may the
/// source ack it to the broker.
/// Entities report events they had already applied (a redelivery); those are not counted again.
/// The index is fed in message order once each message is complete, with new events only.
/// When a node is downed, what its entities applied since their last commit is gone: every
/// message not yet durable is sent again (entities skip what they hold), and only then can a
/// checkpoint cover it.
/// Longer than its neighbours on purpose: the order of messages, their answers, their release and
/// their resends after a node loss are one piece of state, kept in one place.
/// </summary>
public sealed class EventReceiverActor : NeverRestartedActor, IWithTimers, IWithUnboundedStash
{
    private sealed record Cut(long Id, List<PendingMessage> Messages, ReceiverCheckpoint State, List<IActorRef> Waiters, IReadOnlyCollection<Address> Keepers);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record OthersCounted(IReadOnlyCollection<ulong>? Hashes, Exception? Error);

    private sealed record LookElsewhere
    {
        public static readonly LookElsewhere Instance = new();
    }

    private sealed record FlushRelays
    {
        public static readonly FlushRelays Instance = new();
    }

    private sealed record RefreshHomes
    {
        public static readonly RefreshHomes Instance = new();
    }

    private sealed record HomesSeen(ShardHomes Homes, ClusterShardingStats? Stats);

    private readonly ReceiverRules _rules;
    private readonly Func<double> _now;
    private readonly IActorRef _tasks;
    private readonly IActorRef _workers;
    private readonly IActorRef _index;
    private readonly IActorRef _keeper;
    private readonly CheckpointSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<long, PendingMessage> _inFlight = new();
    private readonly Queue<PendingMessage> _order = new(); // index release in message order
    private readonly List<PendingMessage> _undurable = [];
    private readonly Dictionary<RejectionCause, bool> _rejectionLogged = new();
    private readonly List<IActorRef> _drainWaiters = [];
    private readonly List<IActorRef> _checkpointWaiters = [];
    private IActorRef _checkpoints = ActorRefs.Nobody;
    private Cut? _cut;
    private long _cutIds;
    private long _sequence, _eventSeq;
    // As of the last released message: what a checkpoint records, so that after a restart the
    // redelivered messages move the clock exactly as they did the first time.
    private long _releasedClock;
    private double? _releasedLocalReceived;
    private readonly ReceiverCounters _counters;
    private readonly CountedBodies _bodies;
    private double? _lastLocalReceived;
    private int _checkpointFailures;
    private bool _failureWasMembership;
    private Address _selfAddress = null!;
    // Monitor nodes as this receiver's own subscription saw them: a node leaves this set only once
    // its removal has been handled here, so no checkpoint skips a node whose loss is not repaired.
    private readonly HashSet<Address> _monitorNodes = [];
    private DateTime _resendUntil = DateTime.MinValue;
    private long _cutCounter;
    // Reads the body hashes other nodes' receivers counted in their last two checkpoints (from the store).
    private readonly Func<Task<IReadOnlyCollection<ulong>>>? _loadOthersCounted;
    private bool _loadingOthers;
    private int _lookupFailures;
    private readonly RelayRouting? _relay;
    private EventRouter _router = null!;

    /// <param name="othersCounted">
    /// Reads what other nodes' receivers counted in their last checkpoints (in a cluster): a
    /// message the broker redelivers here after its first receiver was lost is then recognised.
    /// </param>
    public EventReceiverActor(IActorRef tasks, IActorRef workers, IActorRef index, IActorRef keeper, Func<long> hereUtcOffset,
        Func<double> now, CheckpointSettings settings, ReceiverCheckpoint restored, Func<Task<IReadOnlyCollection<ulong>>>? othersCounted = null,
        RelayRouting? relay = null)
        : base("event receiver")
    {
        _relay = relay;
        _loadOthersCounted = othersCounted;
        _cutCounter = restored.Cut;
        _tasks = tasks;
        _workers = workers;
        _index = index;
        _keeper = keeper;
        _now = now;
        _settings = settings;
        _rules = new ReceiverRules(hereUtcOffset, new LamportClock(restored.Clock));
        _counters = new ReceiverCounters(restored);
        _bodies = new CountedBodies(restored.AckedBodyHashes, restored.PreviousAckedBodyHashes);
        _eventSeq = restored.Seq;
        _lastLocalReceived = _releasedLocalReceived = restored.LastLocalReceived;
        _releasedClock = restored.Clock;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef tasks, IActorRef workers, IActorRef index, IActorRef keeper, Func<long> hereUtcOffset,
        Func<double> now, CheckpointSettings settings, ReceiverCheckpoint restored, Func<Task<IReadOnlyCollection<ulong>>>? othersCounted = null,
        RelayRouting? relay = null) =>
        Akka.Actor.Props.Create(() => new EventReceiverActor(tasks, workers, index, keeper, hereUtcOffset, now, settings, restored, othersCounted, relay));

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("checkpoint", Tick.Instance, _settings.Interval);
        if (_settings.ClusterWide)
        {
            var cluster = Akka.Cluster.Cluster.Get(Context.System);
            _selfAddress = cluster.SelfAddress;
            cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        }
        else _selfAddress = Self.Path.Address;
        _router = new EventRouter(_tasks, _workers, _relay, node => !node.Equals(_selfAddress) && _monitorNodes.Contains(node),
            // A remote ref made from the path, not a selection: a selection wraps every batch once more on the wire.
            node => ((ExtendedActorSystem)Context.System).Provider.ResolveActorRef(new RootActorPath(node) / "user" / EventRelay.Name),
            () => Timers.StartSingleTimer("relay-flush", FlushRelays.Instance, RelayRouting.GatherFor), AskHomes);
        if (_relay is not null) Timers.StartPeriodicTimer("homes", RefreshHomes.Instance, TimeSpan.Zero, RelayRouting.RefreshEvery);
        _checkpoints = Context.Watch(Context.ActorOf(CheckpointCoordinator.Props(_keeper, _settings, _selfAddress), "checkpoints"));
    }

    protected override void PostStop()
    {
        if (_settings.ClusterWide) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
    }

    // Its checkpoint coordinator is stopped, not restarted, if it fails: a new one would not know the cut in flight.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    /// <summary>After a failure: no checkpoint, no drain; the stats still answered.</summary>
    protected override void Refuse(object message)
    {
        switch (message)
        {
            case CheckpointNow or DrainReceiver:
                Sender.Tell(new Status.Failure(new InvalidOperationException(FailedWith)));
                break;
            case GetReceiverStats:
                Sender.Tell(_counters.ToStats(_rules.Clock.Value, _lastLocalReceived, _inFlight.Count) with { CheckpointFailures = _checkpointFailures + 1 });
                break;
        }
    }

    protected override void Handle(object message)
    {
        switch (message)
        {
            case Terminated t when t.ActorRef.Equals(_checkpoints):
                throw new InvalidOperationException("its checkpoint coordinator failed");
            case IngestMessage m when _loadingOthers:
                Stash.Stash(); // in order, after the lookup
                break;
            case IngestMessage m:
                Ingest(m);
                break;
            case OthersCounted { Hashes: null } o:
                // Counted without knowing, it might be counted twice: it and the messages after it wait.
                if (_lookupFailures++ == 0)
                    _log.Warning("Reading other nodes' checkpoints failed ({0}); the redelivered message and those after it wait, retrying every 1 s", o.Error?.Message);
                Timers.StartSingleTimer("look-elsewhere", LookElsewhere.Instance, TimeSpan.FromSeconds(1));
                break;
            case OthersCounted { Hashes: { } hashes }:
                _loadingOthers = false;
                _bodies.ReadElsewhere(hashes);
                _log.Info("A redelivered message: read what the other nodes counted in their last two checkpoints ({0} messages{1})",
                    hashes.Count, _lookupFailures > 0 ? $", after {_lookupFailures} failed attempts" : "");
                _lookupFailures = 0;
                Stash.UnstashAll();
                break;
            case LookElsewhere:
                LoadOthersCounted();
                break;
            case EventsApplied a:
                OnApplied(a);
                break;
            case AppliedBatch b:
                foreach (var a in b.Answers) OnApplied(a);
                break;
            case FlushRelays:
                _router.Flush();
                break;
            case RefreshHomes:
                _router.AskHomes();
                break;
            case HomesSeen h:
                if (h.Stats is not null) h.Homes.Update(h.Stats, _selfAddress);
                break;
            case Tick:
                ResendOverdue(DateTime.UtcNow < _resendUntil ? _settings.ResendAfter : _settings.StuckAfter);
                if (_undurable.Count > 0 || _checkpointWaiters.Count > 0) StartCheckpoint();
                break;
            case CutDurable d when _cut?.Id == d.Id:
                OnDurable(_cut);
                break;
            case CutFailed f when _cut?.Id == f.Id:
                CheckpointFailedWith(f.Reason, f.Membership);
                break;
            case CutDurable or CutFailed:
                break; // a cut this receiver gave up already (a node it waited for was removed)
            case ClusterEvent.MemberRemoved r when r.Member.HasRole(Client.MonitorClient.MonitorRole) && !r.Member.Address.Equals(_selfAddress):
                // Its shards forgotten first: the sends below go to the local region (which learns the
                // new homes), not into a batch for the node that is gone.
                _router.Forget(r.Member.Address);
                OnNodeRemoved(r);
                _monitorNodes.Remove(r.Member.Address);
                break;
            case ClusterEvent.IMemberEvent e:
                // From Up on: a joining node starts its keeper and its regions only once it is Up.
                if (e.Member.HasRole(Client.MonitorClient.MonitorRole) && e is not (ClusterEvent.MemberRemoved or ClusterEvent.MemberJoined))
                    _monitorNodes.Add(e.Member.Address);
                break;
            case CheckpointNow:
                _checkpointWaiters.Add(Sender);
                StartCheckpoint();
                break;
            case DrainReceiver:
                _drainWaiters.Add(Sender);
                CompleteDrainIfIdle();
                break;
            case GetReceiverStats:
                Sender.Tell(_counters.ToStats(_rules.Clock.Value, _lastLocalReceived, _inFlight.Count) with
                {
                    AwaitingCheckpoint = _undurable.Count + (_cut?.Messages.Count ?? 0),
                    CheckpointFailures = _checkpointFailures,
                    CheckpointWaitsForNode = _checkpointFailures > 0 && _failureWasMembership,
                    RelayedEvents = _router.Relayed,
                    ShardHomes = _router.KnownHomes,
                });
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Ingest(IngestMessage m)
    {
        var hash = m.Message.BodyHash;
        if (m.Redelivered && _loadOthersCounted is not null && _bodies.WorthLookingElsewhere(hash))
        {
            // Maybe another node counted it and was lost before acking: look first (once per 2 s).
            _loadingOthers = true;
            Stash.Stash();
            LoadOthersCounted();
            return;
        }
        if (m.Redelivered && _bodies.Counted(hash))
        {
            // The broker redelivers what it did not see acked (a reconnect, or a restart after a
            // checkpoint whose acks were lost). This one was counted already: ack it with the
            // next checkpoint, which also covers the first delivery.
            _order.Enqueue(new PendingMessage(++_sequence, Sender, m.DeliveryId, 0, m, [], [])
            {
                IsRedelivery = true, ClockAfter = _rules.Clock.Value, LocalReceivedAfter = _lastLocalReceived,
            });
            Release();
            return;
        }

        var localReceived = m.LocalReceived ?? _now();
        _lastLocalReceived = localReceived;
        if (m.Message.HasRejections) LogRejections(m);

        var events = m.Message.Events;
        var entries = new IndexEntry[events.Count];
        var ids = new ulong[events.Count];
        var seqs = new long[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var ev = events[i];
            _rules.Apply(ev, localReceived);
            entries[i] = IndexEntry.From(ev);
            ids[i] = ev.Id;
            if (ev.IsTaskEvent) seqs[i] = ++_eventSeq;
        }

        var pending = new PendingMessage(++_sequence, Sender, m.DeliveryId, hash, m, entries, ids)
        {
            Seqs = seqs, ClockAfter = _rules.Clock.Value, LocalReceivedAfter = localReceived,
        };
        _order.Enqueue(pending);
        Send(pending);
        if (pending.Remaining == 0) Release();
        else _inFlight[pending.Delivery] = pending;
    }

    /// <summary>Tells the message's events to their task and worker entities (the rules were applied once, on arrival).</summary>
    private void Send(PendingMessage p)
    {
        var events = p.Message.Message.Events;
        Dictionary<string, List<WorkerEvent>>? byWorker = null;
        p.Remaining = 0;
        p.SentAt = DateTime.UtcNow;
        // A redelivery of a message counted before carries nothing to apply: it only waits for a
        // checkpoint to ack it (and has no event sequence numbers to send with).
        if (p.IsRedelivery) return;
        for (var i = 0; i < events.Count; i++)
        {
            var ev = events[i];
            if (ev.IsTaskEvent)
            {
                _router.ToTask(new ApplyTaskEvent(ev.Uuid!, p.Delivery, TaskEvent.From(ev), p.Seqs[i]));
                p.Remaining++;
                if (ev.Subject != "sent") WorkerBatch(ref byWorker, ev.Hostname!).Add(WorkerEvent.TaskHeartbeat(ev));
            }
            else if (ev.IsWorkerEvent)
            {
                WorkerBatch(ref byWorker, ev.Hostname!).Add(WorkerEvent.From(ev));
            }
        }
        if (byWorker is null) return;
        foreach (var (hostname, batch) in byWorker)
        {
            _router.ToWorker(new ApplyWorkerEvents(hostname, p.Delivery, batch));
            p.Remaining++;
        }
    }

    private void AskHomes()
    {
        if (_relay is null) return;
        AskHomes(_tasks, _relay.Tasks);
        AskHomes(_workers, _relay.Workers);
    }

    private void AskHomes(IActorRef region, ShardHomes homes)
    {
        var self = Self;
        region.Ask<ClusterShardingStats>(new GetClusterShardingStats(RelayRouting.RefreshEvery), RelayRouting.RefreshEvery + RelayRouting.RefreshEvery)
            .ContinueWith(t => self.Tell(new HomesSeen(homes, t.IsCompletedSuccessfully ? t.Result : null)));
    }

    /// <summary>Sends a message's events again under a new delivery id; a released one waits for its entities again before a checkpoint may cover it.</summary>
    private void Resend(PendingMessage p)
    {
        _inFlight.Remove(p.Delivery);
        p.Delivery = ++_sequence;
        p.Resent = true;
        Send(p);
        if (p.Remaining > 0) _inFlight[p.Delivery] = p;
        else if (p.Released) _undurable.Add(p);
        else Release();
    }

    private void OnNodeRemoved(ClusterEvent.MemberRemoved r)
    {
        // Failed here, at once, not when the coordinator says so: the cut's messages must be back
        // among those not yet durable before they are sent again below.
        if (_cut is { } cut && cut.Keepers.Contains(r.Member.Address))
            CheckpointFailedWith($"node {r.Member.Address} left while the checkpoint waited for its keeper", membership: true);
        _checkpoints.Tell(new KeeperLeft(r.Member.Address));
        // A node that left gracefully handed its entities off after saving their rows; a downed
        // one took with it whatever its entities applied since their last commit.
        if (r.PreviousStatus != MemberStatus.Down) return;
        var released = _undurable.ToList();
        _undurable.Clear();
        var unanswered = _inFlight.Values.ToList();
        // Applied everywhere but still queued behind an unanswered one: not released yet, so in
        // neither list above, and its events on the lost node are gone too.
        var queued = _order.Where(p => !p.IsRedelivery && p.Remaining == 0 && !_inFlight.ContainsKey(p.Delivery)).ToList();
        _log.Warning("Node {0} was downed: sending {1} applied, {2} queued and {3} unanswered messages, none of them durable yet, to their entities again (they skip events they hold).",
            r.Member.Address, released.Count, queued.Count, unanswered.Count);
        foreach (var p in released) Resend(p);
        foreach (var p in queued) Resend(p);
        foreach (var p in unanswered) Resend(p);
        // The shards of the lost node move to the survivors: sends into the gap are repeated.
        _resendUntil = DateTime.UtcNow + TimeSpan.FromSeconds(60);
    }

    private void ResendOverdue(TimeSpan after)
    {
        var overdue = DateTime.UtcNow - after;
        var stuck = _inFlight.Values.Where(p => p.SentAt < overdue).ToList();
        if (stuck.Count == 0) return;
        if (after == _settings.StuckAfter)
            _log.Warning("{0} deliveries unanswered for {1} s: sending them to their entities again", stuck.Count, after.TotalSeconds);
        foreach (var p in stuck) Resend(p);
    }

    private static List<WorkerEvent> WorkerBatch(ref Dictionary<string, List<WorkerEvent>>? byWorker, string hostname)
    {
        byWorker ??= new Dictionary<string, List<WorkerEvent>>(StringComparer.Ordinal);
        if (!byWorker.TryGetValue(hostname, out var list)) byWorker[hostname] = list = new List<WorkerEvent>(4);
        return list;
    }

    private void OnApplied(EventsApplied a)
    {
        if (!_inFlight.TryGetValue(a.DeliveryId, out var p)) return;
        if (a.Duplicates is { Count: > 0 } dups && !p.Resent) (p.Duplicates ??= []).UnionWith(dups);
        if (--p.Remaining > 0) return;
        _inFlight.Remove(a.DeliveryId);
        if (p.Released) _undurable.Add(p); // re-applied after a node loss: it may be covered now
        else Release();
    }

    /// <summary>Completes messages in arrival order: counters, index, then they wait for a checkpoint.</summary>
    private void Release()
    {
        while (_order.TryPeek(out var p) && p.Remaining == 0 && !_inFlight.ContainsKey(p.Delivery))
        {
            _order.Dequeue();
            p.Released = true;
            _releasedClock = p.ClockAfter;
            _releasedLocalReceived = p.LocalReceivedAfter;
            Count(p);
            p.Source.Tell(new MessageApplied(p.SourceId));
            _undurable.Add(p);
        }
        if (_undurable.Count >= _settings.MaxMessages) StartCheckpoint();
        CompleteDrainIfIdle();
    }

    private void Count(PendingMessage p)
    {
        if (p.IsRedelivery)
        {
            _counters.CountRedelivery();
            return;
        }
        _bodies.Remember(p.BodyHash);
        if (_counters.Count(p.Message.Message.Rejections, p.Entries, p.Ids, p.Duplicates) is { } fresh) _index.Tell(new IndexEvents(fresh));
    }

    private void LoadOthersCounted()
    {
        var self = Self;
        _loadOthersCounted!().ContinueWith(t =>
            self.Tell(new OthersCounted(t.IsCompletedSuccessfully ? t.Result : null, t.Exception?.GetBaseException())));
    }

    private void LogRejections(IngestMessage m)
    {
        foreach (var r in m.Message.Rejections)
        {
            if (_rejectionLogged.ContainsKey(r.Cause)) continue;
            _rejectionLogged[r.Cause] = true;
            _log.Warning("Rejected a message on routing key [{0}]: {1}. Further rejections for this cause are counted, not logged.",
                m.RoutingKey, r);
        }
    }

    private void StartCheckpoint()
    {
        // Not while messages are being re-applied after a node loss: the cut would cover a
        // message whose events some entity does not hold yet.
        if (_cut is not null || _inFlight.Values.Any(p => p.Released)) return;
        var messages = _undurable.ToList();
        _undurable.Clear();
        var hashes = messages.Where(p => p.BodyHash != 0).Select(p => p.BodyHash).ToArray();
        var state = _counters.ToCheckpoint(_releasedClock, _eventSeq, _releasedLocalReceived, hashes, _bodies.LastAcked, ++_cutCounter);
        // Only those who asked before this cut started are answered by it. Its keepers: every node
        // that may host entities, each monitor member until its removal (unreachable and downed ones too).
        _cut = new Cut(++_cutIds, messages, state, [.. _checkpointWaiters], [_selfAddress, .. _monitorNodes]);
        _checkpointWaiters.Clear();
        _checkpoints.Tell(new CoverCut(_cut.Id, state,
            new ReceiverRow(_settings.NodeName, state.Messages, state.RejectedMessages, state.OtherEvents, state.Cut, state.ToJson()), _cut.Keepers));
    }

    private void OnDurable(Cut cut)
    {
        _cut = null;
        if (_checkpointFailures > 0) _log.Info("Checkpoints succeed again; {0} messages are now acked", cut.Messages.Count);
        _checkpointFailures = 0;
        _bodies.Acked(cut.State.AckedBodyHashes);
        foreach (var group in cut.Messages.GroupBy(p => p.Source))
            group.Key.Tell(new MessagesDurable(group.Select(p => p.SourceId).ToArray()));
        foreach (var w in cut.Waiters) w.Tell(CheckpointDone.Instance);
        if (_undurable.Count >= _settings.MaxMessages || _checkpointWaiters.Count > 0) StartCheckpoint();
    }

    /// <param name="membership">A node stopped answering or left: expected while the cluster heals, so a warning.</param>
    private void CheckpointFailedWith(string reason, bool membership = false)
    {
        var cut = _cut!;
        _cut = null;
        _checkpointFailures++;
        _failureWasMembership = membership;
        if (_checkpointFailures == 1)
        {
            const string text = "A checkpoint failed ({0}): {1} messages stay unacked and are retried with the next checkpoint.";
            if (membership) _log.Warning(text, reason, cut.Messages.Count);
            else _log.Error(text, reason, cut.Messages.Count);
        }
        _undurable.InsertRange(0, cut.Messages);
        // The membership settles by itself: those who asked are answered by the next attempt.
        if (membership) _checkpointWaiters.InsertRange(0, cut.Waiters);
        else foreach (var w in cut.Waiters) w.Tell(new Status.Failure(new InvalidOperationException("checkpoint failed: " + reason)));
    }

    private void CompleteDrainIfIdle()
    {
        if (_inFlight.Count > 0 || _order.Count > 0 || _drainWaiters.Count == 0) return;
        foreach (var waiter in _drainWaiters) _index.Tell(new FlushIndex(waiter, ReceiverDrained.Instance));
        _drainWaiters.Clear();
    }
}
