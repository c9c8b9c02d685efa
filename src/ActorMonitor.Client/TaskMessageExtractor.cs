using Akka.Cluster.Sharding;

namespace ActorMonitor.Client;

/// <summary>
/// Routes by task uuid to the bucket of the task's shard: one entity per shard holds that shard's
/// tasks, so the entity id is the shard id. The shard count must never change for a cluster's lifetime.
/// </summary>
public sealed class TaskMessageExtractor(int maxNumberOfShards) : HashCodeMessageExtractor(maxNumberOfShards)
{
    public override string? EntityId(object message) => message switch
    {
        ITaskEntityMessage m => ShardOf(m.Uuid),
        _ => null,
    };

    /// <summary>A bucket's id is its shard's.</summary>
    public override string ShardId(string entityId, object? messageHint = null) => entityId;

    /// <summary>The shard (and bucket) of a task.</summary>
    public string ShardOf(string uuid) => base.ShardId(uuid, null);
}
