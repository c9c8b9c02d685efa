using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>
/// One monitor node's actors: the task and worker shard regions, the event index and the
/// receiver. The ActorSystem must already be a cluster member (see <see cref="MonitorSystem"/>).
/// </summary>
public sealed class MonitorNode
{
    private MonitorNode(ActorSystem system, MonitorSettings settings, IActorRef tasks, IActorRef workers, IActorRef index, IActorRef receiver)
    {
        System = system;
        Settings = settings;
        Tasks = tasks;
        Workers = workers;
        Index = index;
        Receiver = receiver;
        Queries = new StateQueries(this);
    }

    public ActorSystem System { get; }
    public MonitorSettings Settings { get; }
    public IActorRef Tasks { get; }
    public IActorRef Workers { get; }
    public IActorRef Index { get; }
    public IActorRef Receiver { get; }
    public StateQueries Queries { get; }

    /// <param name="now">The receiver's clock for local_received (epoch seconds); the wall clock by default.</param>
    public static async Task<MonitorNode> StartAsync(ActorSystem system, Func<double>? now = null)
    {
        var settings = MonitorSettings.FromConfig(system.Settings.Config);
        var sharding = ClusterSharding.Get(system); // before ClusterShardingSettings.Create: it injects the defaults
        var shardingSettings = ClusterShardingSettings.Create(system);
        var strategy = sharding.DefaultShardAllocationStrategy(shardingSettings);

        var tasks = await sharding.StartAsync(TaskEntity.TypeName, TaskEntity.Props, shardingSettings,
            new TaskMessageExtractor(settings.TaskShards), strategy, PoisonPill.Instance);
        var workers = await sharding.StartAsync(WorkerEntity.TypeName, WorkerEntity.Props, shardingSettings,
            new WorkerMessageExtractor(settings.WorkerShards), strategy, PoisonPill.Instance);

        var index = system.ActorOf(EventIndexActor.Props(), "event-index");
        var receiver = system.ActorOf(
            EventReceiverActor.Props(tasks, workers, index, settings.HereUtcOffset, now ?? WallClock),
            "event-receiver");
        return new MonitorNode(system, settings, tasks, workers, index, receiver);
    }

    public static double WallClock() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public Celery.Events.EventDecoder CreateDecoder() => new(Settings.MaxBodyBytes, Settings.MaxJsonDepth);

    public IngestClient CreateIngestClient(Action<long>? onApplied = null) =>
        new(System, Receiver, Settings.IngestWindow, onApplied);
}
