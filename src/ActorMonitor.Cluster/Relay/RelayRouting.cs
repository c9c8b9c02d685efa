namespace ActorMonitor.Cluster.Relay;

/// <summary>A receiver's view of where the task and worker shards live (refreshed every <see cref="RefreshEvery"/>).</summary>
public sealed record RelayRouting(ShardHomes Tasks, ShardHomes Workers)
{
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(2);
}
