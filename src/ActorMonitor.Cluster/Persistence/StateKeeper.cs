using ActorMonitor.Store;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// One per node: knows the live task and worker entities, least recently used first; loads the
/// row of an entity that starts; collects the rows of changed entities and writes them to the
/// store in one transaction per cycle (a checkpoint); and passivates the least recently used
/// clean entities when a kind has more live entities than its limit. The entities' answers to
/// receivers pass through it, batched (<see cref="AnswerBatches"/>), after the change they report.
/// A row that failed to commit is kept and retried; its entity is not passivated until it is saved.
/// In a cluster, its commits name this node's incarnation, and it fences every monitor node the
/// cluster downs (see <see cref="WriterFencing"/>) before any row is loaded again.
/// Longer than its neighbours on purpose: loads, cycles, passivation and fencing all act on one
/// set of live entities and held rows; split apart, they would have to share and lock it.
/// </summary>
public sealed class StateKeeper : NeverRestartedActor, IWithTimers
{
    private sealed class Live(IActorRef entity)
    {
        public IActorRef Entity { get; } = entity;
        public bool Dirty { get; set; }
        public bool Evicting { get; set; }

        /// <summary>Its row is not loaded yet: it is about to apply what woke it, so it is not a candidate.</summary>
        public bool Loading { get; set; } = true;

        /// <summary>Its row is being collected or committed: passivating it now would reload a stale row.</summary>
        public bool InCycle { get; set; }
    }

    private sealed class Cycle(long id)
    {
        public long Id { get; } = id;
        // The incarnation each row is awaited from: a stopped predecessor must not cancel it.
        public Dictionary<(EntityKind, string), IActorRef> Awaited { get; } = [];
        public List<(EntityKind Kind, string Id)> Members { get; } = [];
        public List<(IActorRef, string)> Savers { get; } = [];
        public List<(IActorRef, long)> Waiters { get; } = [];

        // Receiver counters that asked for this cycle: they cover only what its rows hold. A
        // receiver's row says which messages are durable (other nodes and a restart skip their
        // redeliveries), so it must never be written by a cycle that started before it came.
        public List<ReceiverRow> Receivers { get; } = [];
    }

    private readonly IStateStore _store;
    private readonly int _maxTasks;
    private readonly int _maxWorkers;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly LruTracker<Live> _tasks = new();
    private readonly LruTracker<Live> _workers = new();
    // A worker entity stands for one id; a task bucket for every task it holds.
    private readonly Dictionary<IActorRef, (EntityKind Kind, HashSet<string> Ids)> _byRef = new();
    private readonly HashSet<(EntityKind Kind, string Id)> _dirty = [];
    // Rows collected but not yet committed, with the order they reached this keeper in: an entity's
    // rows arrive in the order it made them, so the higher number is the newer row.
    private readonly Dictionary<(EntityKind, string), (EntityRow Row, long Seq)> _unsaved = new();
    private readonly Dictionary<EntityKind, int> _evicting = new() { [EntityKind.Task] = 0, [EntityKind.Worker] = 0 };
    private long _rowSeq;
    private readonly List<(IActorRef, string)> _savers = []; // entities waiting for RowSaved
    private readonly List<(IActorRef, long)> _waiters = [];
    private readonly HashSet<string> _knownTypes = new(StringComparer.Ordinal);
    // Counters of this node's receiver, written by the next cycle to start (the newest one wins).
    private readonly Dictionary<string, ReceiverRow> _receiverRows = new(StringComparer.Ordinal);
    private readonly Dictionary<EntityKind, List<(IActorRef, string)>> _loadQueue = new() { [EntityKind.Task] = [], [EntityKind.Worker] = [] };
    private readonly HashSet<EntityKind> _loading = [];
    private Cycle? _cycle;
    private long _cycleIds;
    private int _failureStreak, _loadFailureStreak;
    private long _commits, _rowsWritten, _failedCommits, _passivations, _rowsLoaded, _loadsMissed;
    private TimeSpan _commitTime;
    private string? _lastError;
    // Commits and loads each on a thread of their own: a load need not wait for a commit.
    private readonly StoreThread _writer = new("store-commit");
    private readonly StoreThread _reader = new("store-load");
    private readonly WriterFencing? _fencing;
    private bool _fencedLogged;
    private readonly AnswerBatches _batches = new();
    private readonly IActorRef? _metrics;
    private readonly Func<string, string>? _taskShardOf;

    /// <param name="fencing">This node's fencing in a cluster (its incarnation registered in the store); null for a lone system.</param>
    /// <param name="metrics">This node's metrics actor, told the task events the entities observed.</param>
    /// <param name="taskShardOf">The shard of a task (for <see cref="GetLiveTasksByShard"/>).</param>
    public StateKeeper(IStateStore store, int maxTasksInMemory, int maxWorkersInMemory, IEnumerable<string> knownTaskTypes, WriterFencing? fencing = null,
        IActorRef? metrics = null, Func<string, string>? taskShardOf = null)
        : base("state keeper")
    {
        _metrics = metrics;
        _taskShardOf = taskShardOf;
        _fencing = fencing;
        _store = store;
        _maxTasks = Math.Max(1, maxTasksInMemory);
        _maxWorkers = Math.Max(1, maxWorkersInMemory);
        _knownTypes.UnionWith(knownTaskTypes);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IStateStore store, int maxTasksInMemory, int maxWorkersInMemory, IEnumerable<string> knownTaskTypes, WriterFencing? fencing = null,
        IActorRef? metrics = null, Func<string, string>? taskShardOf = null) =>
        Akka.Actor.Props.Create(() => new StateKeeper(store, maxTasksInMemory, maxWorkersInMemory, knownTaskTypes, fencing, metrics, taskShardOf));

    protected override void PreStart()
    {
        if (_fencing is not null)
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.MemberDowned), typeof(ClusterEvent.MemberRemoved));
    }

    protected override void PostStop()
    {
        if (_fencing is not null) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        _writer.Dispose();
        _reader.Dispose();
    }

    private LruTracker<Live> Tracker(EntityKind kind) => kind == EntityKind.Task ? _tasks : _workers;
    private int Limit(EntityKind kind) => kind == EntityKind.Task ? _maxTasks : _maxWorkers;

    /// <summary>After a failure: every checkpoint refused, the stats say why, the rest dropped.</summary>
    protected override void Refuse(object message)
    {
        switch (message)
        {
            case Checkpoint m:
                Sender.Tell(new CheckpointFailed(m.Id, FailedWith!));
                break;
            case GetKeeperStats:
                Sender.Tell(new KeeperStats(_tasks.Count, _workers.Count, _dirty.Count, _commits, _rowsWritten,
                    _failedCommits, _passivations, _rowsLoaded, _loadsMissed, FailedWith) { StoreFailing = true, CommitTime = _commitTime });
                break;
        }
    }

    protected override void Handle(object message)
    {
        switch (message)
        {
            case EntityApplied m:
                if (m.Changed) MarkDirty(m.Kind, m.Id);
                _batches.Add(m);
                // Gathered a few milliseconds: a message per receiver instead of one per event.
                if (!_batches.IsEmpty && !Timers.IsTimerActive("answers"))
                    Timers.StartSingleTimer("answers", FlushAnswers.Instance, Relay.RelayRouting.GatherFor);
                break;
            case FlushAnswers:
                _batches.Send(_metrics, Self);
                break;
            case EntityTouched m:
                Tracker(m.Kind).Touch(m.Id);
                break;
            case LoadEntity m:
                Register(m);
                break;
            case LoadsDone m:
                OnLoaded(m);
                break;
            case EntityRow m:
                OnRow(m);
                break;
            case SaveAndStop m:
                _dirty.Remove((m.Row.Kind, m.Row.Id));
                Hold(m.Row);
                _savers.Add((Sender, m.Row.Id));
                StartCycle();
                break;
            case EntityGone m:
                if (_byRef.TryGetValue(Sender, out var held) && held.Ids.Remove(m.Id) && held.Ids.Count == 0) _byRef.Remove(Sender);
                Forget(m.Kind, m.Id, Sender);
                break;
            case PassivationDeclined m:
                if (Tracker(m.Kind).TryGet(m.Id, out var declined) && declined.Entity.Equals(Sender) && declined.Evicting)
                {
                    declined.Evicting = false;
                    _evicting[m.Kind]--;
                }
                break;
            case Checkpoint m when Timers.IsTimerActive("retry"):
                // Backing off after a failed write: the retry timer decides when to try again.
                Sender.Tell(new CheckpointFailed(m.Id, $"the store is unavailable ({_lastError}); retrying"));
                break;
            case Checkpoint m:
                if (m.Receiver is { } counters) _receiverRows[counters.NodeName] = counters;
                _waiters.Add((Sender, m.Id));
                StartCycle();
                break;
            case CommitDone m:
                OnCommitted(m);
                break;
            case CommitError m:
                OnCommitFailed(m);
                break;
            case RetryCycle:
                StartCycle();
                break;
            case Terminated t:
                OnTerminated(t.ActorRef);
                break;
            case ClusterEvent.MemberDowned d:
                Fence(d.Member);
                break;
            case ClusterEvent.MemberRemoved r when r.PreviousStatus == MemberStatus.Down:
                Fence(r.Member);
                break;
            case ClusterEvent.IMemberEvent:
                break;
            case FenceWritten f:
                OnFenceWritten(f);
                break;
            case RetryFence r:
                WriteFence(r.Member);
                break;
            case GetKeeperStats:
                Sender.Tell(new KeeperStats(_tasks.Count, _workers.Count, _dirty.Count, _commits, _rowsWritten,
                    _failedCommits, _passivations, _rowsLoaded, _loadsMissed, _lastError) { StoreFailing = _failureStreak > 0 || _loadFailureStreak > 0, CommitTime = _commitTime });
                break;
            case GetLiveTasksByShard:
                Sender.Tell(new LiveTasksByShard(LiveTasksPerShard()));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private Dictionary<string, int> LiveTasksPerShard()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        if (_taskShardOf is null) return counts;
        foreach (var (id, _) in _tasks.LeastRecentlyUsed())
        {
            var shard = _taskShardOf(id);
            counts[shard] = counts.GetValueOrDefault(shard) + 1;
        }
        return counts;
    }

    private void MarkDirty(EntityKind kind, string id)
    {
        if (!Tracker(kind).TryGet(id, out var live)) return;
        live.Dirty = true;
        Tracker(kind).Touch(id);
        _dirty.Add((kind, id));
        if (Tracker(kind).Count > Limit(kind)) StartCycle(); // rows must be saved before they can be passivated
    }

    private void Register(LoadEntity m)
    {
        var entity = Sender;
        if (Tracker(m.Kind).TryGet(m.Id, out var previous) && previous.Evicting) _evicting[m.Kind]--; // replaced before its Terminated
        Tracker(m.Kind).Touch(m.Id, new Live(entity));
        if (_byRef.TryGetValue(entity, out var held)) held.Ids.Add(m.Id);
        else
        {
            _byRef[entity] = (m.Kind, new HashSet<string>(StringComparer.Ordinal) { m.Id });
            Context.Watch(entity);
        }
        _loadQueue[m.Kind].Add((entity, m.Id));
        StartLoad(m.Kind);
        Evict(m.Kind);
    }

    private void Fence(Member member)
    {
        if (_fencing is null || !_fencing.Begin(member)) return;
        _log.Warning("Node {0} was downed: fencing its writes in the store before any of its shards' rows is loaded here", member.Address);
        WriteFence(member);
    }

    private void WriteFence(Member member)
    {
        var self = Self;
        var by = _fencing!.Self;
        _writer.Run(() =>
        {
            _store.Fence(WriterFencing.Incarnation(member.UniqueAddress), member.Address.ToString(), by);
            return true;
        })
            .ContinueWith(t => self.Tell(new FenceWritten(member, t.Exception?.GetBaseException())));
    }

    private void OnFenceWritten(FenceWritten f)
    {
        if (f.Error is not null)
        {
            _log.Error("Fencing the downed node {0} in the store failed ({1}); rows wait until it is written, retrying in 1 s", f.Member.Address, f.Error.Message);
            Timers.StartSingleTimer("fence-" + f.Member.UniqueAddress, new RetryFence(f.Member), TimeSpan.FromSeconds(1));
            return;
        }
        _log.Info("Node {0} is fenced in the store: its commits are refused from now on", f.Member.Address);
        _fencing!.Done(f.Member.UniqueAddress);
        StartLoad(EntityKind.Task);
        StartLoad(EntityKind.Worker);
    }

    private void StartLoad(EntityKind kind)
    {
        var queue = _loadQueue[kind];
        if (queue.Count == 0 || _loading.Contains(kind) || _fencing is { HoldsLoads: true }) return;
        var requests = new List<(IActorRef, string)>(queue.Count);
        // A row held and not yet committed is newer than the stored one: served as it is now (a
        // commit finishing while the store is read could otherwise leave only the older row).
        foreach (var (entity, id) in queue)
        {
            if (_unsaved.TryGetValue((kind, id), out var held)) Answer(kind, entity, id, held.Row.Task?.Data ?? held.Row.Worker?.Data);
            else requests.Add((entity, id));
        }
        queue.Clear();
        if (requests.Count == 0) return;
        var ids = requests.Select(r => r.Item2).ToList();
        if (_store is MemoryStateStore)
        {
            OnLoaded(new LoadsDone(kind, requests, Load(kind, ids), null));
            return;
        }
        _loading.Add(kind);
        var self = Self;
        _reader.Run(() => Load(kind, ids)).ContinueWith(t =>
            self.Tell(new LoadsDone(kind, requests, t.IsCompletedSuccessfully ? t.Result : null, t.Exception?.GetBaseException())));
    }

    private IReadOnlyDictionary<string, byte[]> Load(EntityKind kind, IReadOnlyCollection<string> ids) =>
        kind == EntityKind.Task ? _store.LoadTasks(ids) : _store.LoadWorkers(ids);

    private void OnLoaded(LoadsDone m)
    {
        _loading.Remove(m.Kind);
        if (m.Error is null && m.Requests.Count > 0) _loadFailureStreak = 0;
        if (m.Error is not null)
        {
            // The entities wait (their events stay unacked); their requests go back in the queue.
            if (_loadFailureStreak == 0 && _failureStreak == 0) _lastError = m.Error.Message; // the fault's first cause, until it clears
            if (_loadFailureStreak++ % 30 == 0)
                _log.Error("Loading {0} rows from the store ({1}) failed: {2}. Their events wait and nothing is acked; retrying every 1 s (attempt {3}).",
                    m.Kind, _store.Target, m.Error.Message, _loadFailureStreak);
            _loadQueue[m.Kind].InsertRange(0, m.Requests);
            Timers.StartSingleTimer("retry-load-" + m.Kind, new LoadsDone(m.Kind, [], new Dictionary<string, byte[]>(), null), TimeSpan.FromSeconds(1));
            return;
        }
        foreach (var (entity, id) in m.Requests)
            Answer(m.Kind, entity, id, m.Rows!.TryGetValue(id, out var stored) ? stored : null);
        StartLoad(m.Kind);
    }

    private void Answer(EntityKind kind, IActorRef entity, string id, byte[]? data)
    {
        if (data is null) _loadsMissed++;
        else _rowsLoaded++;
        if (Tracker(kind).TryGet(id, out var live) && live.Entity.Equals(entity)) live.Loading = false;
        entity.Tell(new RowLoaded(id, data));
    }

    private void StartCycle()
    {
        if (_cycle is not null || Timers.IsTimerActive("retry")) return; // one at a time; none while backing off
        if (_dirty.Count == 0 && _unsaved.Count == 0 && _waiters.Count == 0) return;
        var cycle = _cycle = new Cycle(++_cycleIds);
        cycle.Waiters.AddRange(_waiters);
        _waiters.Clear();
        cycle.Savers.AddRange(_savers);
        _savers.Clear();
        cycle.Receivers.AddRange(_receiverRows.Values);
        _receiverRows.Clear();
        foreach (var key in _dirty)
        {
            if (!Tracker(key.Kind).TryGet(key.Id, out var live)) continue;
            live.Dirty = false;
            live.InCycle = true;
            cycle.Awaited[key] = live.Entity;
            cycle.Members.Add(key);
            live.Entity.Tell(new CollectRow(key.Id, cycle.Id));
        }
        _dirty.Clear();
        if (cycle.Awaited.Count == 0) Commit(cycle);
    }

    private void OnRow(EntityRow row)
    {
        var cycle = _cycle;
        if (cycle is null || row.CycleId != cycle.Id || !cycle.Awaited.Remove((row.Kind, row.Id)))
        {
            Hold(row); // never dropped: the entity counts it as saved; the next cycle commits it
            return;
        }
        // Held at once: the entity is clean now and may stop before this cycle commits, and its
        // next incarnation must load this row, not the older stored one.
        Hold(row);
        if (cycle.Awaited.Count == 0) Commit(cycle);
    }

    /// <summary>Keeps a row until it is committed; rows of one entity arrive in the order it made them.</summary>
    private void Hold(EntityRow row) => _unsaved[(row.Kind, row.Id)] = (row, ++_rowSeq);

    private void Commit(Cycle cycle)
    {
        // Rows that failed before, and rows of stopping entities, go in too; a newer row wins.
        var held = _unsaved.Values.ToList();
        var rows = held.Select(h => h.Row).ToList();
        var newTypes = rows.SelectMany(r => r.TaskNames).Where(n => !_knownTypes.Contains(n)).ToHashSet(StringComparer.Ordinal);
        var commit = new StoreCommit(
            rows.Where(r => r.Task is not null).Select(r => r.Task!).ToList(),
            rows.Where(r => r.Worker is not null).Select(r => r.Worker!).ToList(),
            newTypes) { Receivers = cycle.Receivers.ToList(), Writer = _fencing?.Self };
        var self = Self;
        var savers = cycle.Savers.ToList();
        var waiters = cycle.Waiters.ToList();
        if (commit.Count == 0 && newTypes.Count == 0)
        {
            self.Tell(new CommitDone(held, savers, waiters));
            return;
        }
        _writer.Run(() =>
        {
            var took = System.Diagnostics.Stopwatch.StartNew();
            _store.Commit(commit);
            return took.Elapsed;
        }).ContinueWith(t => self.Tell(t.IsCompletedSuccessfully
            ? new CommitDone(held, savers, waiters, t.Result)
            : new CommitError(t.Exception!.GetBaseException(), rows, savers, waiters, commit.Receivers)));
    }

    private void EndCycle()
    {
        if (_cycle is null) return;
        foreach (var (kind, id) in _cycle.Members)
            if (Tracker(kind).TryGet(id, out var live)) live.InCycle = false;
        _cycle = null;
    }

    private void OnCommitted(CommitDone m)
    {
        EndCycle();
        if (_failureStreak > 0) _log.Info("The store is writable again after {0} failed attempt(s); {1} rows saved", _failureStreak, m.Rows.Count);
        _failureStreak = 0;
        _commits++;
        _rowsWritten += m.Rows.Count;
        _commitTime += m.Took;
        foreach (var (row, seq) in m.Rows)
        {
            // Only forget a row if no newer one arrived (from a stopping entity) while committing.
            if (_unsaved.TryGetValue((row.Kind, row.Id), out var current) && current.Seq == seq) _unsaved.Remove((row.Kind, row.Id));
            _knownTypes.UnionWith(row.TaskNames);
        }
        foreach (var (saver, id) in m.Savers) saver.Tell(new RowSaved(id));
        foreach (var (replyTo, id) in m.Waiters) replyTo.Tell(new CheckpointCommitted(id));
        Evict(EntityKind.Task);
        Evict(EntityKind.Worker);
        if (_waiters.Count > 0 || _unsaved.Count > 0 || _savers.Count > 0 || OverLimitWithDirty()) StartCycle();
    }

    private bool OverLimitWithDirty() => _dirty.Count > 0 && (_tasks.Count > _maxTasks || _workers.Count > _maxWorkers);

    private void OnCommitFailed(CommitError m)
    {
        EndCycle();
        _failedCommits++;
        // The fault's first cause, until it clears: what a retry meets later (space partly back) may be a
        // consequence of it. A fence is final and is said whatever came before.
        if (_failureStreak++ == 0 && _loadFailureStreak == 0 || m.Cause is WriterFencedException) _lastError = m.Cause.Message;
        if (m.Cause is WriterFencedException && !_fencedLogged)
        {
            _fencedLogged = true;
            Context.System.EventStream.Publish(new NodeFenced(m.Cause.Message));
        }
        var delay = TimeSpan.FromMilliseconds(Math.Min(10_000, 250 * Math.Pow(2, Math.Min(_failureStreak - 1, 6))));
        if (_failureStreak == 1 || _failureStreak % 20 == 0)
            _log.Error("Writing {0} rows to the store ({1}) failed: {2}. Nothing is acked until it succeeds; retrying every {3} s (attempt {4}).",
                m.Rows.Count, _store.Target, m.Cause.Message, delay.TotalSeconds, _failureStreak);
        // The rows stay in _unsaved; the savers and waiters are answered by the next successful cycle.
        _savers.InsertRange(0, m.Savers);
        foreach (var r in m.Receivers) _receiverRows.TryAdd(r.NodeName, r); // unless a newer one came meanwhile
        foreach (var (replyTo, id) in m.Waiters) replyTo.Tell(new CheckpointFailed(id, m.Cause.Message));
        Timers.StartSingleTimer("retry", RetryCycle.Instance, delay);
    }

    private void Evict(EntityKind kind)
    {
        var tracker = Tracker(kind);
        // Entities already told to passivate count as gone, wherever they are in the order.
        var excess = tracker.Count - _evicting[kind] - Limit(kind);
        if (excess <= 0) return;
        foreach (var (id, live) in tracker.LeastRecentlyUsed())
        {
            if (excess <= 0) break;
            if (live.Evicting || live.Dirty || live.InCycle || live.Loading || _unsaved.ContainsKey((kind, id))) continue;
            live.Evicting = true;
            tracker.Touch(id); // out of the way: the next walks would step over it until its Terminated
            _evicting[kind]++;
            live.Entity.Tell(new PassivateEntity(id));
            _passivations++;
            excess--;
        }
    }

    private void OnTerminated(IActorRef entity)
    {
        if (!_byRef.Remove(entity, out var held)) return;
        foreach (var id in held.Ids) Forget(held.Kind, id, entity);
    }

    /// <summary>The task or worker left memory with its entity (or its bucket let it go).</summary>
    private void Forget(EntityKind kind, string id, IActorRef entity)
    {
        var key = (kind, id);
        // A restarted entity of the same id may already be registered under a new ref.
        if (Tracker(kind).TryGet(id, out var live) && live.Entity.Equals(entity))
        {
            Tracker(kind).Remove(id);
            _dirty.Remove(key);
            if (live.Evicting) _evicting[kind]--;
        }
        if (_cycle is { } cycle && cycle.Awaited.TryGetValue(key, out var awaited) && awaited.Equals(entity))
        {
            cycle.Awaited.Remove(key);
            if (cycle.Awaited.Count == 0) Commit(cycle);
        }
    }
}
