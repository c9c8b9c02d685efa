using Akka.Cluster.Sharding;

namespace ActorMonitor.Client;

/// <summary>Routes by task uuid; the shard count must never change for a cluster's lifetime.</summary>
public sealed class TaskMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => message switch
    {
        ITaskEntityMessage m => m.Uuid,
        _ => null,
    };
}
