using ActorMonitor.Client;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Queries;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using ActorMonitor.Store;
using ActorMonitor.Store.Sql;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Client;
using Akka.Event;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>
/// One monitor node's actors: the state keeper (rows, checkpoints, live-entity limits), the task
/// and worker shard regions, the event index, the receiver and the query endpoint. The ActorSystem must already be a
/// cluster member (see <see cref="MonitorSystem"/>). Starting restores the index and the
/// receiver's counters from the store and the checkpoint journal.
/// </summary>
public sealed class MonitorNode
{
    private MonitorNode(ActorSystem system, MonitorSettings settings, IStateStore store, IActorRef keeper,
        IActorRef tasks, IActorRef workers, IActorRef index, IActorRef receiver, IActorRef metrics, LiveFeed live, IActorRef charts,
        CancellationTokenSource downed)
    {
        _downed = downed;
        Metrics = metrics;
        Charts = charts;
        Live = live;
        System = system;
        Settings = settings;
        Store = store;
        Keeper = keeper;
        Tasks = tasks;
        Workers = workers;
        Index = index;
        Receiver = receiver;
        Queries = new StateQueries(this);
    }

    public ActorSystem System { get; }
    public MonitorSettings Settings { get; }
    public IStateStore Store { get; }
    public IActorRef Keeper { get; }
    public IActorRef Tasks { get; }
    public IActorRef Workers { get; }
    public IActorRef Index { get; }
    public IActorRef Receiver { get; }
    public StateQueries Queries { get; }

    private readonly CancellationTokenSource _downed;

    /// <summary>
    /// Cancelled once the cluster downed this node (see <see cref="DownedWatcher"/>): its consumer
    /// stops at once, without draining, and no last checkpoint is tried.
    /// </summary>
    public CancellationToken Downed => _downed.Token;

    /// <summary>Why <see cref="Downed"/> was cancelled.</summary>
    public string? DownedReason { get; private set; }

    /// <summary>The cluster downed this node (also told by <see cref="DownedWatcher"/>); the first reason is kept.</summary>
    public void MarkDowned(string reason)
    {
        if (_downed.IsCancellationRequested) return;
        DownedReason = reason;
        System.Log.Error("{0}: it stops consuming now (its unacked messages go back to the broker for the other nodes) and leaves without a last checkpoint", reason);
        try { _downed.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>This node's metrics actor (see <see cref="MetricsActor"/>).</summary>
    public IActorRef Metrics { get; }

    /// <summary>This node's dashboard charts (see <see cref="ChartActor"/>; ask <see cref="GetCharts"/>).</summary>
    public IActorRef Charts { get; }

    /// <summary>The cluster's live updates, for this process's listeners.</summary>
    public LiveFeed Live { get; }

    /// <param name="now">The receiver's clock for local_received (epoch seconds); the wall clock by default.</param>
    /// <param name="store">The rows' store; by default the one actormonitor.journal names.</param>
    public static async Task<MonitorNode> StartAsync(ActorSystem system, Func<double>? now = null, IStateStore? store = null)
    {
        var settings = MonitorSettings.FromConfig(system.Settings.Config);
        store ??= settings.Journal.Kind == StoreKind.Memory ? new MemoryStateStore() : new SqlStateStore(settings.Journal);
        await Task.Run(store.Initialize);

        // This incarnation's commits name it: once the cluster downs it, the others fence it.
        var cluster = Akka.Cluster.Cluster.Get(system);
        var downed = new CancellationTokenSource();
        var fencing = new WriterFencing(cluster.SelfUniqueAddress,
            () => downed.IsCancellationRequested || cluster.IsTerminated || cluster.SelfMember.Status is not (MemberStatus.Up or MemberStatus.Joining or MemberStatus.WeaklyUp));
        await Task.Run(() => store.RegisterWriter(fencing.Self, cluster.SelfAddress.ToString()));
        var sharding = ClusterSharding.Get(system); // before ClusterShardingSettings.Create: it injects the defaults
        // Before the keeper, which passes the entities' observations on; it asks workers hosted elsewhere through the region.
        var metrics = system.ActorOf(MetricsActor.Props(new MetricsRegistry(), settings.ForgetWorkersAfter, now ?? WallClock,
            () => sharding.ShardRegion(WorkerEntity.TypeName), Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.Get(system).Mediator), MetricsName);
        // Before the entities and the receiver, so that checkpoints of other nodes' receivers find it as soon as this node is a
        // member (the task types it has not seen yet are written once more, harmlessly).
        var taskShards = new TaskMessageExtractor(settings.TaskShards);
        var keeper = system.ActorOf(StateKeeper.Props(store, settings.MaxTasksInMemory, settings.MaxWorkersInMemory, [], fencing, metrics, taskShards.ShardOf),
            CheckpointCoordinator.KeeperName);

        // Recovering the checkpoint journal starts Akka.Persistence.Sql's journal and snapshot
        // store, which create their tables: one node at a time.
        ReceiverCheckpoint restored;
        using (await Task.Run(store.StartupLock))
            restored = await RecoverCheckpointAsync(system, settings);
        // The copy in the store is written with the rows, the journal's just after: after a crash
        // between the two, the store's is the newer one.
        var stored = await Task.Run(() => store.Receivers().FirstOrDefault(r => r.NodeName == settings.NodeName));
        if (stored is not null && stored.Cut > restored.Cut)
        {
            system.Log.Info("Resuming from checkpoint {0} in the store (the journal holds {1})", stored.Cut, restored.Cut);
            restored = ReceiverCheckpoint.FromJson(stored.Checkpoint);
        }
        StoredTotals totals = null!;
        var eventIndex = await Task.Run(() => IndexRestore.Read(store, settings.MaxTimelineEntries, restored.OtherEvents, out totals));

        var shardingSettings = ClusterShardingSettings.Create(system);
        var strategy = sharding.DefaultShardAllocationStrategy(shardingSettings);

        // StopEntity for hand-off too: a dirty entity saves its row before it stops.
        var live = new LiveFeed();
        system.ActorOf(LiveFeedSubscriber.Props(live), "live-feed");
        var charts = system.ActorOf(ChartActor.Props(new ChartSeries(settings.ChartStep, settings.ChartRetention), live, now ?? WallClock,
            Akka.Cluster.Tools.PublishSubscribe.DistributedPubSub.Get(system).Mediator), "charts");

        var workerShards = new WorkerMessageExtractor(settings.WorkerShards);
        var tasks = await sharding.StartAsync(TaskBucket.TypeName, TaskBucket.PropsFor(keeper, observe: true), shardingSettings,
            taskShards, strategy, StopEntity.Instance);
        var workers = await sharding.StartAsync(WorkerEntity.TypeName, WorkerEntity.PropsFor(keeper, metrics), shardingSettings,
            workerShards, strategy, StopEntity.Instance);
        system.ActorOf(EventRelay.Props(tasks, workers), EventRelay.Name);
        var relay = new RelayRouting(new ShardHomes(taskShards.ShardOf), new ShardHomes(workerShards.ShardOf));

        var index = system.ActorOf(EventIndexActor.Props(eventIndex), "event-index");
        var checkpoints = new CheckpointSettings(settings.NodeName, settings.CheckpointInterval, settings.CheckpointMaxMessages, settings.SnapshotEvery, ClusterWide: true)
        {
            Timeout = settings.CheckpointTimeout,
        };
        var receiver = system.ActorOf(
            EventReceiverActor.Props(tasks, workers, index, keeper, settings.HereUtcOffset, now ?? WallClock, checkpoints,
                restored with { Seq = Math.Max(restored.Seq, totals.MaxSeq) }, OthersCounted, relay),
            ReceiverName);
        var node = new MonitorNode(system, settings, store, keeper, tasks, workers, index, receiver, metrics, live, charts, downed);
        system.ActorOf(DownedWatcher.Props(node.MarkDowned), "downed-watcher");

        // The public query messages' endpoint; it, and the shard regions that answer GetTask and
        // GetWorker, are what systems outside the cluster reach through a ClusterClient.
        var queries = system.ActorOf(QueryEndpoint.Props(node), QueryEndpoint.Name);
        var receptionist = ClusterClientReceptionist.Get(system);
        foreach (var service in new[] { queries, tasks, workers }) receptionist.RegisterService(service);
        return node;

        // What the other nodes' receivers counted in their last two checkpoints.
        Task<IReadOnlyCollection<ulong>> OthersCounted() => Task.Run<IReadOnlyCollection<ulong>>(() => store.SettledReceivers()
            .Where(r => r.NodeName != settings.NodeName)
            .Select(r => ReceiverCheckpoint.FromJson(r.Checkpoint))
            .SelectMany(c => c.AckedBodyHashes.Concat(c.PreviousAckedBodyHashes))
            .ToHashSet());
    }

    /// <summary>Reads the receiver's last checkpoint (the journal actor is stopped again before the receiver starts its own).</summary>
    private static async Task<ReceiverCheckpoint> RecoverCheckpointAsync(ActorSystem system, MonitorSettings settings)
    {
        var journal = system.ActorOf(CheckpointJournal.Props(settings.NodeName, settings.SnapshotEvery), "checkpoint-recovery");
        try
        {
            return (await journal.Ask<LastCheckpoint>(GetLastCheckpoint.Instance, TimeSpan.FromSeconds(60))).State;
        }
        finally
        {
            await journal.GracefulStop(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>The metrics actor's name on every monitor node.</summary>
    public const string MetricsName = "metrics";

    /// <summary>The receiver's actor name on every monitor node.</summary>
    public const string ReceiverName = "event-receiver";

    public static double WallClock() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public Celery.Events.EventDecoder CreateDecoder() => new(Settings.MaxBodyBytes, Settings.MaxJsonDepth);

    /// <summary>Unacked messages are bounded as the broker's prefetch bounds them (actormonitor.broker.prefetch).</summary>
    public IngestClient CreateIngestClient(Action<long>? onApplied = null, Action<IReadOnlyList<long>>? onDurable = null) =>
        new(System, Receiver, Settings.IngestWindow, onApplied, onDurable, Settings.MaxUndurable);
}
