using ActorMonitor.Celery.State;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;

namespace ActorMonitor.Client;

/// <summary>
/// An application's handle on a running monitor: its own ActorSystem joins the monitor's cluster
/// with the client role (it hosts no shards and consumes no events), starts proxies of the task
/// and worker shard regions, and asks entities wherever they live.
/// <code>
/// var system = ActorSystem.Create("actormonitor", MonitorClient.Config(seedNodes: ["akka.tcp://actormonitor@10.0.0.5:4053"]));
/// var monitor = await MonitorClient.StartAsync(system);
/// TaskSnapshot? task = await monitor.TaskAsync("d9f6...");
/// </code>
/// The ActorSystem must be named as the monitor's cluster (actormonitor.cluster-name, default
/// "actormonitor"), and the shard counts must be the monitor's (actormonitor.sharding).
/// </summary>
public sealed class MonitorClient
{
    /// <summary>The role of monitor nodes: only they host shards.</summary>
    public const string MonitorRole = "monitor";

    public const string ClientRole = "client";

    /// <summary>The shard-region type names of the monitor's entities.</summary>
    public const string TaskTypeName = "task";

    public const string WorkerTypeName = "worker";

    /// <summary>Binds the query messages to their serializer; monitor nodes carry the same lines.</summary>
    public const string SerializationHocon = """
        akka.actor {
          serializers.actormonitor-query = "ActorMonitor.Client.QuerySerializer, ActorMonitor.Client"
          serialization-bindings {
            "ActorMonitor.Client.GetTask, ActorMonitor.Client" = actormonitor-query
            "ActorMonitor.Client.TaskReply, ActorMonitor.Client" = actormonitor-query
            "ActorMonitor.Client.GetWorker, ActorMonitor.Client" = actormonitor-query
            "ActorMonitor.Client.WorkerReply, ActorMonitor.Client" = actormonitor-query
          }
        }
        """;

    private MonitorClient(IActorRef tasks, IActorRef workers, TimeSpan timeout)
    {
        Tasks = tasks;
        Workers = workers;
        Timeout = timeout;
    }

    /// <summary>Proxy of the task shard region: tell or ask it any <see cref="ITaskEntityMessage"/>.</summary>
    public IActorRef Tasks { get; }

    /// <summary>Proxy of the worker shard region: tell or ask it any <see cref="IWorkerEntityMessage"/>.</summary>
    public IActorRef Workers { get; }

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
        return new MonitorClient(tasks, workers, timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>One task in the schema of Celery's State (tasks[uuid]); null when the monitor never saw it.</summary>
    public async Task<TaskSnapshot?> TaskAsync(string uuid) =>
        (await Tasks.Ask<TaskReply>(new GetTask(uuid), Timeout)).Task;

    /// <summary>One worker; "alive" judged at <paramref name="asOf"/> (epoch seconds, default now).</summary>
    public async Task<WorkerSnapshot?> WorkerAsync(string hostname, double? asOf = null) =>
        (await Workers.Ask<WorkerReply>(new GetWorker(hostname, asOf ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0), Timeout)).Worker;
}
