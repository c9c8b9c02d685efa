using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Receiver;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// How the receiver checkpoints: see actormonitor.checkpoint in hocon/actormonitor.conf.
/// <paramref name="ClusterWide"/>: every monitor node's keeper takes part in each checkpoint
/// (entities on any node may hold this receiver's events); off for a lone test system.
/// </summary>
public sealed record CheckpointSettings(string NodeName, TimeSpan Interval, int MaxMessages, int SnapshotEvery, bool ClusterWide = false)
{
    public static readonly CheckpointSettings Default = new("node-1", TimeSpan.FromMilliseconds(200), 4000, 100);

    /// <summary>A keeper that has not answered by then fails the checkpoint; it is retried.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After a node was lost, deliveries still unanswered this long are sent again.</summary>
    public TimeSpan ResendAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// At any time, a delivery unanswered this long is sent again: a send lost on the way (to a
    /// shard whose home moved after the resend window closed) would otherwise hold its message,
    /// and every ack after it, for ever. Entities skip events they hold, so a resend is harmless.
    /// </summary>
    public TimeSpan StuckAfter { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Celery's EventReceiver as an actor: owns the Lamport clock, applies the receiver rules in
/// message order, and fans each event out to its task and worker entities. A message is answered
/// <see cref="MessageApplied"/> when every entity applied it, and, later, <see cref="MessagesDurable"/>
/// when a checkpoint (the keeper's commit of the changed rows, then this receiver's counters in
/// its journal) covers it: only then may the source ack it to the broker.
/// Entities report events they had already applied (a redelivery); those are not counted again.
/// The index is fed in message order once each message is complete, with new events only.
/// In a cluster, a checkpoint commits the rows of every monitor node (entities anywhere may hold
/// this receiver's events). When a node is downed, what its entities applied since their last
/// commit is gone: every message not yet durable is sent again (entities skip what they hold),
/// and only then can a checkpoint cover it.
/// </summary>
public sealed class EventReceiverActor : UntypedActor, IWithTimers, IWithUnboundedStash
{
    private sealed class Pending(long delivery, IActorRef source, long sourceId, ulong bodyHash, IngestMessage message, IndexEntry[] entries, ulong[] ids)
    {
        /// <summary>The id entities answer to; a new one for each re-send, so late answers to an older send are ignored.</summary>
        public long Delivery { get; set; } = delivery;
        public IActorRef Source { get; } = source;
        public long SourceId { get; } = sourceId;
        public ulong BodyHash { get; } = bodyHash;
        public IngestMessage Message { get; } = message;
        public IndexEntry[] Entries { get; } = entries;
        public ulong[] Ids { get; } = ids;
        public int Remaining { get; set; }
        public HashSet<ulong>? Duplicates { get; set; }

        /// <summary>The arrival sequence of each task event (0 for other events), the same on every send.</summary>
        public long[] Seqs { get; init; } = [];

        /// <summary>Counted and indexed already; now only waiting to be durable (or re-applied after a node loss).</summary>
        public bool Released { get; set; }

        /// <summary>Sent again: entities that applied the first send now call it a duplicate, which it is not.</summary>
        public bool Resent { get; set; }

        public DateTime SentAt { get; set; }

        /// <summary>A redelivery of a message already counted: acked with the next checkpoint, never counted again.</summary>
        public bool IsRedelivery { get; init; }

        /// <summary>The Lamport clock and local_received once this message's rules were applied.</summary>
        public long ClockAfter { get; set; }
        public double? LocalReceivedAfter { get; set; }
    }

    private sealed record Cut(long Id, List<Pending> Messages, ReceiverCheckpoint State, List<IActorRef> Waiters, HashSet<Address> Keepers);

    private sealed record CutTimeout(long Id);

    private sealed record Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed record RestartJournal
    {
        public static readonly RestartJournal Instance = new();
    }

    private sealed record OthersCounted(IReadOnlyCollection<ulong>? Hashes, Exception? Error);

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
    private readonly Dictionary<long, Pending> _inFlight = new();
    private readonly Queue<Pending> _order = new(); // index release in message order
    private readonly List<Pending> _undurable = [];
    private readonly Dictionary<RejectionCause, long> _rejections;
    private readonly Dictionary<RejectionCause, bool> _rejectionLogged = new();
    // Body hashes of the messages counted since two checkpoints ago (hash -> how many).
    private readonly Dictionary<ulong, int> _recentlyCounted = new();
    private readonly List<IActorRef> _drainWaiters = [];
    private readonly List<IActorRef> _checkpointWaiters = [];
    private IActorRef _journal = ActorRefs.Nobody;
    private Cut? _cut;
    private long _cutIds;
    private long _sequence, _eventSeq;
    // As of the last released message: what a checkpoint records, so that after a restart the
    // redelivered messages move the clock exactly as they did the first time.
    private long _releasedClock;
    private double? _releasedLocalReceived;
    private long _messages, _rejectedMessages, _acceptedEvents, _rejectedEvents, _otherEvents, _duplicateEvents, _duplicateMessages;
    private double? _lastLocalReceived;
    private ulong[] _lastAckedHashes, _previousAckedHashes;
    private int _checkpointFailures;
    private bool _failureWasMembership;
    private Address _selfAddress = null!;
    // Monitor nodes as this receiver's own subscription saw them: a node leaves this set only once
    // its removal has been handled here, so no checkpoint skips a node whose loss is not repaired.
    private readonly HashSet<Address> _monitorNodes = [];
    private DateTime _resendUntil = DateTime.MinValue;
    private long _cutCounter;
    // Body hashes other nodes' receivers counted in their last two checkpoints (from the store).
    private readonly Func<Task<IReadOnlyCollection<ulong>>>? _loadOthersCounted;
    private IReadOnlyCollection<ulong> _othersCounted = [];
    private DateTime _othersLoadedAt = DateTime.MinValue;
    private bool _loadingOthers;
    // Where shards live, so events for another node's entities go there in one message per batch.
    private readonly RelayRouting? _relay;
    private readonly RelayOutbox _outbox = new();
    private readonly Dictionary<Address, ActorSelection> _relays = new();
    private bool _flushQueued;
    private DateTime _homesAskedAt = DateTime.MinValue;
    private long _relayedEvents;

    /// <param name="othersCounted">
    /// Reads what other nodes' receivers counted in their last checkpoints (in a cluster): a
    /// message the broker redelivers here after its first receiver was lost is then recognised.
    /// </param>
    public EventReceiverActor(IActorRef tasks, IActorRef workers, IActorRef index, IActorRef keeper, Func<long> hereUtcOffset,
        Func<double> now, CheckpointSettings settings, ReceiverCheckpoint restored, Func<Task<IReadOnlyCollection<ulong>>>? othersCounted = null,
        RelayRouting? relay = null)
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
        _messages = restored.Messages;
        _rejectedMessages = restored.RejectedMessages;
        _acceptedEvents = restored.AcceptedEvents;
        _rejectedEvents = restored.RejectedEvents;
        _otherEvents = restored.OtherEvents;
        _duplicateEvents = restored.DuplicateEvents;
        _duplicateMessages = restored.DuplicateMessages;
        _eventSeq = restored.Seq;
        _lastLocalReceived = _releasedLocalReceived = restored.LastLocalReceived;
        _releasedClock = restored.Clock;
        _rejections = new Dictionary<RejectionCause, long>(restored.RejectionsByCause);
        _lastAckedHashes = restored.AckedBodyHashes;
        _previousAckedHashes = restored.PreviousAckedBodyHashes;
        foreach (var h in _lastAckedHashes.Concat(_previousAckedHashes)) Remember(h);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    public static Props Props(IActorRef tasks, IActorRef workers, IActorRef index, IActorRef keeper, Func<long> hereUtcOffset,
        Func<double> now, CheckpointSettings settings, ReceiverCheckpoint restored, Func<Task<IReadOnlyCollection<ulong>>>? othersCounted = null,
        RelayRouting? relay = null) =>
        Akka.Actor.Props.Create(() => new EventReceiverActor(tasks, workers, index, keeper, hereUtcOffset, now, settings, restored, othersCounted, relay));

    protected override void PreStart()
    {
        StartJournal();
        Timers.StartPeriodicTimer("checkpoint", Tick.Instance, _settings.Interval);
        if (_settings.ClusterWide)
        {
            var cluster = Akka.Cluster.Cluster.Get(Context.System);
            _selfAddress = cluster.SelfAddress;
            cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        }
        if (_relay is not null) Timers.StartPeriodicTimer("homes", RefreshHomes.Instance, TimeSpan.Zero, RelayRouting.RefreshEvery);
        else _selfAddress = Self.Path.Address;
    }

    protected override void PostStop()
    {
        if (_settings.ClusterWide) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
    }

    private void StartJournal() => _journal = Context.Watch(Context.ActorOf(CheckpointJournal.Props(_settings.NodeName, _settings.SnapshotEvery)));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case IngestMessage m when _loadingOthers:
                Stash.Stash(); // in order, after the lookup
                break;
            case IngestMessage m:
                Ingest(m);
                break;
            case OthersCounted o:
                _loadingOthers = false;
                if (o.Hashes is not null) (_othersCounted, _othersLoadedAt) = (o.Hashes, DateTime.UtcNow);
                else _log.Warning("Reading other nodes' checkpoints failed ({0}); a redelivered message they counted may be counted again", o.Error?.Message);
                Stash.UnstashAll();
                break;
            case EventsApplied a:
                OnApplied(a);
                break;
            case AppliedBatch b:
                foreach (var a in b.Answers) OnApplied(a);
                break;
            case FlushRelays:
                _flushQueued = false;
                foreach (var (node, items) in _outbox.Drain()) SendToRelay(node, items);
                break;
            case RefreshHomes:
                AskHomes();
                break;
            case HomesSeen h:
                if (h.Stats is not null) h.Homes.Update(h.Stats, _selfAddress);
                break;
            case Tick:
                ResendOverdue(DateTime.UtcNow < _resendUntil ? _settings.ResendAfter : _settings.StuckAfter);
                if (_undurable.Count > 0 || _checkpointWaiters.Count > 0) StartCheckpoint();
                break;
            case CheckpointCommitted c when _cut?.Id == c.Id:
                _cut.Keepers.Remove(KeeperAddress(Sender));
                if (_cut.Keepers.Count == 0)
                {
                    Timers.Cancel("cut-timeout");
                    _journal.Tell(new PersistCheckpoint(c.Id, _cut.State));
                }
                break;
            case CutTimeout t when _cut?.Id == t.Id && _cut.Keepers.Count > 0:
                CheckpointFailedWith($"no answer within {_settings.Timeout.TotalSeconds} s from the keeper on {string.Join(", ", _cut.Keepers)}", membership: true);
                break;
            case ClusterEvent.MemberRemoved r when r.Member.HasRole(Client.MonitorClient.MonitorRole) && !r.Member.Address.Equals(_selfAddress):
                OnNodeRemoved(r);
                _monitorNodes.Remove(r.Member.Address);
                _relay?.Tasks.Forget(r.Member.Address);
                _relay?.Workers.Forget(r.Member.Address);
                break;
            case ClusterEvent.IMemberEvent e:
                // From Up on: a joining node starts its keeper and its regions only once it is Up.
                if (e.Member.HasRole(Client.MonitorClient.MonitorRole) && e is not (ClusterEvent.MemberRemoved or ClusterEvent.MemberJoined))
                    _monitorNodes.Add(e.Member.Address);
                break;
            case CheckpointPersisted p when _cut?.Id == p.Id:
                OnDurable(_cut);
                break;
            case CheckpointFailed f when _cut?.Id == f.Id:
                Timers.Cancel("cut-timeout");
                CheckpointFailedWith(f.Reason);
                break;
            case Terminated t when t.ActorRef.Equals(_journal):
                _journal = ActorRefs.Nobody;
                if (_cut is not null) CheckpointFailedWith("the checkpoint journal stopped (see the persistence error above)");
                Timers.StartSingleTimer("restart-journal", RestartJournal.Instance, TimeSpan.FromSeconds(1));
                break;
            case RestartJournal:
                StartJournal();
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
                Sender.Tell(new ReceiverStats(
                    _messages, _rejectedMessages, _acceptedEvents, _rejectedEvents, _rules.Clock.Value,
                    _lastLocalReceived, _inFlight.Count, new Dictionary<RejectionCause, long>(_rejections))
                {
                    OtherEvents = _otherEvents,
                    DuplicateEvents = _duplicateEvents,
                    DuplicateMessages = _duplicateMessages,
                    AwaitingCheckpoint = _undurable.Count + (_cut?.Messages.Count ?? 0),
                    CheckpointFailures = _checkpointFailures,
                    CheckpointWaitsForNode = _checkpointFailures > 0 && _failureWasMembership,
                    RelayedEvents = _relayedEvents,
                    ShardHomes = (_relay?.Tasks.Count ?? 0) + (_relay?.Workers.Count ?? 0),
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
        if (m.Redelivered && hash != 0 && !_recentlyCounted.ContainsKey(hash) && _loadOthersCounted is not null
            && DateTime.UtcNow - _othersLoadedAt > TimeSpan.FromSeconds(2))
        {
            // Maybe another node counted it and was lost before acking: look first (once per 2 s).
            _loadingOthers = true;
            Stash.Stash();
            var self = Self;
            _loadOthersCounted().ContinueWith(t =>
                self.Tell(new OthersCounted(t.IsCompletedSuccessfully ? t.Result : null, t.Exception?.GetBaseException())));
            return;
        }
        if (m.Redelivered && hash != 0 && (_recentlyCounted.ContainsKey(hash) || _othersCounted.Contains(hash)))
        {
            // The broker redelivers what it did not see acked (a reconnect, or a restart after a
            // checkpoint whose acks were lost). This one was counted already: ack it with the
            // next checkpoint, which also covers the first delivery.
            _order.Enqueue(new Pending(++_sequence, Sender, m.DeliveryId, 0, m, [], [])
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

        var pending = new Pending(++_sequence, Sender, m.DeliveryId, hash, m, entries, ids)
        {
            Seqs = seqs, ClockAfter = _rules.Clock.Value, LocalReceivedAfter = localReceived,
        };
        _order.Enqueue(pending);
        Send(pending);
        if (pending.Remaining == 0) Release();
        else _inFlight[pending.Delivery] = pending;
    }

    /// <summary>Tells the message's events to their task and worker entities (the rules were applied once, on arrival).</summary>
    private void Send(Pending p)
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
                Route(_tasks, _relay?.Tasks, ev.Uuid!, new ApplyTaskEvent(ev.Uuid!, p.Delivery, TaskEvent.From(ev), p.Seqs[i]));
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
            Route(_workers, _relay?.Workers, hostname, new ApplyWorkerEvents(hostname, p.Delivery, batch));
            p.Remaining++;
        }
    }

    /// <summary>
    /// To the entity's region, or, when its shard lives on another monitor node, into that node's
    /// next batch: sent once this receiver has taken what its mailbox holds now.
    /// </summary>
    private void Route(IActorRef region, ShardHomes? homes, string entityId, object message)
    {
        var home = homes?.Of(entityId);
        if (home is null || home.Equals(_selfAddress) || !_monitorNodes.Contains(home))
        {
            // A shard not seen yet (new, or moved from a lost node): learn its home soon.
            if (home is null && homes is not null && DateTime.UtcNow - _homesAskedAt > TimeSpan.FromMilliseconds(250)) AskHomes();
            region.Tell(message);
            return;
        }
        _relayedEvents++;
        if (_outbox.Add(home, message) is { } full) SendToRelay(home, full);
        else if (!_flushQueued)
        {
            _flushQueued = true;
            Self.Tell(FlushRelays.Instance);
        }
    }

    private void SendToRelay(Address node, List<object> items)
    {
        if (!_relays.TryGetValue(node, out var relay))
            _relays[node] = relay = Context.ActorSelection(new RootActorPath(node) / "user" / EventRelay.Name);
        relay.Tell(new RelayEvents(items));
    }

    private void AskHomes()
    {
        _homesAskedAt = DateTime.UtcNow;
        AskHomes(_tasks, _relay!.Tasks);
        AskHomes(_workers, _relay.Workers);
    }

    private void AskHomes(IActorRef region, ShardHomes homes)
    {
        var self = Self;
        region.Ask<ClusterShardingStats>(new GetClusterShardingStats(RelayRouting.RefreshEvery), RelayRouting.RefreshEvery + RelayRouting.RefreshEvery)
            .ContinueWith(t => self.Tell(new HomesSeen(homes, t.IsCompletedSuccessfully ? t.Result : null)));
    }

    /// <summary>Sends a message's events again under a new delivery id; a released one waits for its entities again before a checkpoint may cover it.</summary>
    private void Resend(Pending p)
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
        if (_cut is { } cut && cut.Keepers.Contains(r.Member.Address))
        {
            Timers.Cancel("cut-timeout");
            CheckpointFailedWith($"node {r.Member.Address} left while the checkpoint waited for its keeper", membership: true);
        }
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

    private Address KeeperAddress(IActorRef keeper) => keeper.Path.Address.HasGlobalScope ? keeper.Path.Address : _selfAddress;

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

    private void Count(Pending p)
    {
        if (p.IsRedelivery)
        {
            _duplicateMessages++;
            return;
        }
        Remember(p.BodyHash);
        _messages++;
        var rejections = p.Message.Message.Rejections;
        if (rejections.Count > 0)
        {
            _rejectedMessages++;
            foreach (var r in rejections)
            {
                _rejectedEvents++;
                _rejections.TryGetValue(r.Cause, out var n);
                _rejections[r.Cause] = n + 1;
            }
        }

        List<IndexEntry>? fresh = null;
        for (var i = 0; i < p.Entries.Length; i++)
        {
            var e = p.Entries[i];
            if (p.Duplicates is not null && p.Duplicates.Contains(p.Ids[i]) && e.Group is "task" or "worker")
            {
                _duplicateEvents++;
                continue;
            }
            _acceptedEvents++;
            if (e.Group is not ("task" or "worker")) _otherEvents++;
            (fresh ??= new List<IndexEntry>(p.Entries.Length)).Add(e);
        }
        if (fresh is not null) _index.Tell(new IndexEvents(fresh));
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
        if (_cut is not null || _journal.IsNobody() || _inFlight.Values.Any(p => p.Released)) return;
        var messages = _undurable.ToList();
        _undurable.Clear();
        var hashes = messages.Where(p => p.BodyHash != 0).Select(p => p.BodyHash).ToArray();
        var state = new ReceiverCheckpoint(_messages, _rejectedMessages, _acceptedEvents, _rejectedEvents, _otherEvents,
            _duplicateEvents, _duplicateMessages, _releasedClock, _eventSeq, _releasedLocalReceived,
            new Dictionary<RejectionCause, long>(_rejections), hashes, _lastAckedHashes) { Cut = ++_cutCounter };
        // Only those who asked before this cut started are answered by it.
        var keepers = KeeperNodes();
        _cut = new Cut(++_cutIds, messages, state, [.. _checkpointWaiters], keepers);
        _checkpointWaiters.Clear();
        _keeper.Tell(new Checkpoint(_cut.Id, new ReceiverRow(_settings.NodeName, _messages, _rejectedMessages, _otherEvents, state.Cut, state.ToJson())));
        foreach (var node in keepers.Where(a => !a.Equals(_selfAddress)))
            Context.ActorSelection(new RootActorPath(node) / "user" / KeeperName).Tell(new Checkpoint(_cut.Id));
        Timers.StartSingleTimer("cut-timeout", new CutTimeout(_cut.Id), _settings.Timeout);
    }

    /// <summary>The keeper's actor name on every monitor node.</summary>
    public const string KeeperName = "state-keeper";

    /// <summary>Every node that may host entities: each monitor member until its removal (unreachable and downed ones too).</summary>
    private HashSet<Address> KeeperNodes() => [_selfAddress, .. _monitorNodes];

    private void OnDurable(Cut cut)
    {
        _cut = null;
        if (_checkpointFailures > 0) _log.Info("Checkpoints succeed again; {0} messages are now acked", cut.Messages.Count);
        _checkpointFailures = 0;
        foreach (var h in _previousAckedHashes) Forget(h);
        _previousAckedHashes = _lastAckedHashes;
        _lastAckedHashes = cut.State.AckedBodyHashes;
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

    private void Remember(ulong hash)
    {
        if (hash == 0) return;
        _recentlyCounted.TryGetValue(hash, out var n);
        _recentlyCounted[hash] = n + 1;
    }

    private void Forget(ulong hash)
    {
        if (!_recentlyCounted.TryGetValue(hash, out var n)) return;
        if (n == 1) _recentlyCounted.Remove(hash);
        else _recentlyCounted[hash] = n - 1;
    }

    private void CompleteDrainIfIdle()
    {
        if (_inFlight.Count > 0 || _order.Count > 0 || _drainWaiters.Count == 0) return;
        foreach (var waiter in _drainWaiters) _index.Tell(new FlushIndex(waiter, ReceiverDrained.Instance));
        _drainWaiters.Clear();
    }
}
