namespace ActorMonitor.Cluster.Relay;

/// <summary>A receiver's view of where the task and worker shards live (refreshed every <see cref="RefreshEvery"/>).</summary>
public sealed record RelayRouting(ShardHomes Tasks, ShardHomes Workers)
{
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long events for another node, and a keeper's answers to receivers, gather before they go: a few
    /// milliseconds of latency for batches of many (a node's mailbox under load drains faster
    /// than it fills, so waiting only for it to drain gives batches of a few).
    /// </summary>
    public static readonly TimeSpan GatherFor = TimeSpan.FromMilliseconds(10);
}
