using ActorMonitor.Celery.State;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Client;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;

namespace ActorMonitor.Client;

/// <summary>
/// An application's handle on a running monitor, one of two ways. As a member: its own ActorSystem
/// joins the monitor's cluster with the client role (it hosts no shards and consumes no events),
/// starts proxies of the task and worker shard regions, and asks entities wherever they live.
/// <code>
/// var system = ActorSystem.Create("actormonitor", MonitorClient.Config(seedNodes: ["akka.tcp://actormonitor@10.0.0.5:4053"]));
/// var monitor = await MonitorClient.StartAsync(system);
/// TaskSnapshot? task = await monitor.TaskAsync("d9f6...");
/// </code>
/// The ActorSystem must be named as the monitor's cluster (actormonitor.cluster-name, default
/// "actormonitor"), and the shard counts must be the monitor's (actormonitor.sharding).
/// Or from outside the cluster, through Akka's ClusterClient and the monitor nodes' receptionists:
/// <code>
/// var system = ActorSystem.Create("my-app", MonitorClient.ClusterClientConfig());
/// var monitor = MonitorClient.StartClusterClient(system, ["akka.tcp://actormonitor@10.0.0.5:4053/system/receptionist"]);
/// </code>
/// Either way the same helpers and messages: tasks and workers one by one, task pages, counts,
/// the worker list and a node's counters.
/// </summary>
public sealed class MonitorClient
{
    /// <summary>The role of monitor nodes: only they host shards.</summary>
    public const string MonitorRole = "monitor";

    public const string ClientRole = "client";

    /// <summary>The shard-region type names of the monitor's entities.</summary>
    public const string TaskTypeName = "task";

    public const string WorkerTypeName = "worker";

    /// <summary>The query endpoint's path on every monitor node (it answers <see cref="IMonitorQuery"/> messages).</summary>
    public const string QueryEndpointPath = "/user/query-api";

    /// <summary>The task and worker shard regions' paths on monitor nodes (registered with the receptionist).</summary>
    public const string TaskRegionPath = "/system/sharding/" + TaskTypeName;

    public const string WorkerRegionPath = "/system/sharding/" + WorkerTypeName;

    /// <summary>Binds the query messages to their serializer; monitor nodes carry the same lines.</summary>
    public const string SerializationHocon = """
        akka.actor {
          serializers.actormonitor-query = "ActorMonitor.Client.QuerySerializer, ActorMonitor.Client"
          serialization-bindings {
            "ActorMonitor.Client.IQueryWireMessage, ActorMonitor.Client" = actormonitor-query
          }
        }
        """;

    private MonitorClient(ActorSystem system, IActorRef tasks, IActorRef workers, IActorRef queries, TimeSpan timeout)
    {
        System = system;
        Tasks = tasks;
        Workers = workers;
        Queries = queries;
        Timeout = timeout;
    }

    public ActorSystem System { get; }

    /// <summary>Where <see cref="ITaskEntityMessage"/>s go: the task shard region's proxy (a member) or a relay through the ClusterClient.</summary>
    public IActorRef Tasks { get; }

    /// <summary>Where <see cref="IWorkerEntityMessage"/>s go: the worker shard region's proxy (a member) or a relay through the ClusterClient.</summary>
    public IActorRef Workers { get; }

    /// <summary>
    /// Where <see cref="IMonitorQuery"/> messages go: the query endpoint of a monitor node (one
    /// after the other, Up and reachable ones; a member holds them until one is Up), or through the
    /// ClusterClient to any receptionist's node.
    /// </summary>
    public IActorRef Queries { get; }

    public TimeSpan Timeout { get; }

    /// <summary>
    /// A client system's configuration: cluster provider, client role, seed nodes, serializers,
    /// and the monitor nodes' split-brain resolver. The resolver must be the same on every member:
    /// the cluster leader takes the downing decision, and a client may be that leader.
    /// </summary>
    public static Config Config(IEnumerable<string> seedNodes, string hostname = "127.0.0.1", int port = 0) =>
        ConfigurationFactory.ParseString($$"""
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "{{hostname}}", port = {{port}} }
              cluster {
                roles = ["{{ClientRole}}"]
                seed-nodes = [{{string.Join(", ", seedNodes.Select(s => $"\"{s}\""))}}]
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  keep-majority.role = "{{MonitorRole}}"
                  stable-after = 7s
                }
              }
            }
            """).WithFallback(ConfigurationFactory.ParseString(SerializationHocon));

    /// <summary>Starts the shard-region proxies; the system joins the cluster through its seed nodes.</summary>
    public static async Task<MonitorClient> StartAsync(ActorSystem system, int taskShards = 100, int workerShards = 30, TimeSpan? timeout = null)
    {
        var sharding = ClusterSharding.Get(system);
        var tasks = await sharding.StartProxyAsync(TaskTypeName, MonitorRole, new TaskMessageExtractor(taskShards));
        var workers = await sharding.StartProxyAsync(WorkerTypeName, MonitorRole, new WorkerMessageExtractor(workerShards));
        var queries = system.ActorOf(Props.Create(() => new MemberRelay()));
        return new MonitorClient(system, tasks, workers, queries, timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// The configuration of a system that is NOT a member of the monitor's cluster and queries it
    /// through a ClusterClient: remoting on <paramref name="hostname"/>:<paramref name="port"/>
    /// (where the monitor nodes can reach it, for the answers), the ClusterClient's defaults and the
    /// serializers. The system may have any name, or be a member of another cluster (then put its own
    /// cluster configuration in front of this one).
    /// </summary>
    public static Config ClusterClientConfig(string hostname = "127.0.0.1", int port = 0) =>
        ConfigurationFactory.ParseString($$"""
            akka {
              actor.provider = remote
              remote.dot-netty.tcp { hostname = "{{hostname}}", port = {{port}} }
            }
            """)
            .WithFallback(ConfigurationFactory.ParseString(SerializationHocon))
            .WithFallback(ClusterClientReceptionist.DefaultConfig())
            .WithFallback(DistributedPubSub.DefaultConfig());

    /// <summary>
    /// Queries through a ClusterClient (a system outside the monitor's cluster, see
    /// <see cref="ClusterClientConfig"/>): <paramref name="contactPoints"/> are monitor nodes'
    /// receptionists, <c>akka.tcp://actormonitor@host:port/system/receptionist</c> (one is enough;
    /// the client learns the others). Messages sent before it is connected wait in its buffer.
    /// </summary>
    public static MonitorClient StartClusterClient(ActorSystem system, IEnumerable<string> contactPoints, TimeSpan? timeout = null)
    {
        var contacts = contactPoints.Select(ActorPath.Parse).ToImmutableHashSet();
        if (contacts.Count == 0) throw new ArgumentException("at least one contact point is needed", nameof(contactPoints));
        var client = system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(system).WithInitialContacts(contacts)));
        IActorRef Relay(string path) => system.ActorOf(Props.Create(() => new ClusterClientRelay(client, path)));
        return new MonitorClient(system,
            Relay(TaskRegionPath),
            Relay(WorkerRegionPath),
            Relay(QueryEndpointPath),
            timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>A monitor node's receptionist, from its cluster address (<c>akka.tcp://actormonitor@host:port</c>).</summary>
    public static string ContactPoint(string nodeAddress) => nodeAddress.TrimEnd('/') + "/system/receptionist";

    /// <summary>One task in the schema of Celery's State (tasks[uuid]); null when the monitor never saw it.</summary>
    public async Task<TaskSnapshot?> TaskAsync(string uuid) =>
        (await Tasks.Ask<TaskReply>(new GetTask(uuid), Timeout)).Task;

    /// <summary>One worker; "alive" judged at <paramref name="asOf"/> (epoch seconds, default now).</summary>
    public async Task<WorkerSnapshot?> WorkerAsync(string hostname, double? asOf = null) =>
        (await Workers.Ask<WorkerReply>(new GetWorker(hostname, asOf ?? Now()), Timeout)).Worker;

    /// <summary>A page of tasks (<c>/api/query/tasks</c>); a query outside the limits throws <see cref="MonitorQueryException"/>.</summary>
    public Task<TasksReply> TasksAsync(GetTasks query) => QueryAsync<TasksReply>(query);

    /// <summary>How many tasks match, by state, name and worker (<c>/api/query/counts</c>).</summary>
    public Task<CountsReply> CountsAsync(GetCounts? filter = null) => QueryAsync<CountsReply>(filter ?? new GetCounts());

    /// <summary>Every worker, "alive" judged at <paramref name="asOf"/> (epoch seconds, default now).</summary>
    public async Task<IReadOnlyList<WorkerSnapshot>> WorkersAsync(double? asOf = null) =>
        (await QueryAsync<WorkersReply>(new GetWorkers(asOf ?? Now()))).Workers;

    /// <summary>The counters of the node that answered (<c>/api/stats</c>).</summary>
    public Task<StatsReply> StatsAsync() => QueryAsync<StatsReply>(GetStats.Instance);

    private async Task<T> QueryAsync<T>(IMonitorQuery query) => await Queries.Ask<object>(query, Timeout) switch
    {
        T reply => reply,
        QueryFailed failed => throw new MonitorQueryException(failed.Error, failed.Invalid),
        var other => throw new InvalidOperationException($"unexpected answer {other.GetType()} to {query.GetType().Name}"),
    };

    private static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}
