using Akka.Cluster.Sharding;

namespace ActorMonitor.Client;

/// <summary>Routes by worker hostname; the shard count must never change for a cluster's lifetime.</summary>
public sealed class WorkerMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => message switch
    {
        IWorkerEntityMessage m => m.Hostname,
        _ => null,
    };

    /// <summary>The shard of a worker (its entity id is its hostname).</summary>
    public string ShardOf(string hostname) => ShardId(hostname, null);
}
