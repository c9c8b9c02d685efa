using ActorMonitor.Cluster.Hosting;
using Akka.Actor;

namespace ActorMonitor.Client.Tests;

/// <summary>
/// What a client system must share with the monitor nodes it joins, against the node's embedded
/// actormonitor.conf: the split-brain resolver (any member, a client too, may be the leader that
/// takes the downing decision) and the shard counts.
/// </summary>
public class ClientConfigTests
{
    private static readonly string[] DowningKeys =
    [
        "akka.cluster.downing-provider-class",
        "akka.cluster.split-brain-resolver.active-strategy",
        "akka.cluster.split-brain-resolver.keep-majority.role",
        "akka.cluster.split-brain-resolver.stable-after",
    ];

    [Fact]
    public async Task A_client_system_downs_as_the_monitor_nodes_do()
    {
        var system = ActorSystem.Create("actormonitor", MonitorClient.Config(seedNodes: []));
        try
        {
            var client = system.Settings.Config;
            foreach (var key in DowningKeys)
                Assert.Equal((key, MonitorConfig.Default.GetString(key)), (key, client.GetString(key)));
            Assert.Equal(MonitorClient.MonitorRole, client.GetString("akka.cluster.split-brain-resolver.keep-majority.role"));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public void The_default_shard_counts_are_the_nodes()
    {
        var parameters = typeof(MonitorClient).GetMethod(nameof(MonitorClient.StartAsync))!.GetParameters();
        Assert.Equal(MonitorConfig.Default.GetInt("actormonitor.sharding.task-shards"), parameters.Single(p => p.Name == "taskShards").DefaultValue);
        Assert.Equal(MonitorConfig.Default.GetInt("actormonitor.sharding.worker-shards"), parameters.Single(p => p.Name == "workerShards").DefaultValue);
    }
}
