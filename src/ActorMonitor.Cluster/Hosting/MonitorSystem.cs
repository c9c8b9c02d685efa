using ActorMonitor.Store;
using Akka.Actor;
using Akka.Configuration;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>Creates a monitor's ActorSystem and makes it a cluster member.</summary>
public static class MonitorSystem
{
    /// <summary>
    /// Starts the ActorSystem named by actormonitor.cluster-name and joins the configured seed
    /// nodes, or itself when there are none; returns once this member is Up.
    /// </summary>
    public static async Task<ActorSystem> StartAsync(Config config, TimeSpan? upTimeout = null)
    {
        var name = config.GetString("actormonitor.cluster-name", "actormonitor");
        var journal = StoreTarget.Parse(config.GetString("actormonitor.journal", "memory"));
        var system = ActorSystem.Create(name, Persistence.PersistenceConfig.For(journal).WithFallback(config));
        var cluster = Akka.Cluster.Cluster.Get(system);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        var seeds = config.GetStringList("akka.cluster.seed-nodes");
        if (seeds is null || seeds.Count == 0) await cluster.JoinAsync(cluster.SelfAddress);

        var timeout = upTimeout ?? TimeSpan.FromSeconds(30);
        if (await Task.WhenAny(up.Task, Task.Delay(timeout)) != up.Task)
        {
            await system.Terminate();
            throw new TimeoutException($"this node did not become an Up cluster member within {timeout.TotalSeconds} s");
        }
        return system;
    }
}
