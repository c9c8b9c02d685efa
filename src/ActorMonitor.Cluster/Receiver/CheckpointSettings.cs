namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// How the receiver checkpoints: see actormonitor.checkpoint in hocon/actormonitor.conf.
/// <paramref name="ClusterWide"/>: every monitor node's keeper takes part in each checkpoint
/// (entities on any node may hold this receiver's events); off for a lone test system.
/// </summary>
public sealed record CheckpointSettings(string NodeName, TimeSpan Interval, int MaxMessages, int SnapshotEvery, bool ClusterWide = false)
{
    public static readonly CheckpointSettings Default = new("node-1", TimeSpan.FromMilliseconds(200), 4000, 100);

    /// <summary>A keeper that has not answered by then fails the checkpoint; it is retried.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After a node was lost, deliveries still unanswered this long are sent again.</summary>
    public TimeSpan ResendAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// At any time, a delivery unanswered this long is sent again: a send lost on the way (to a
    /// shard whose home moved after the resend window closed) would otherwise hold its message,
    /// and every ack after it, for ever. Entities skip events they hold, so a resend is harmless.
    /// </summary>
    public TimeSpan StuckAfter { get; init; } = TimeSpan.FromSeconds(30);
}
