using ActorMonitor.Client;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Output;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;
using Akka.Cluster;

namespace ActorMonitor.Cluster;

/// <summary>
/// Read side: cluster-wide figures come from the event index; one task or worker comes from its
/// entity (restored from its row when it was passivated). The full state document reads the
/// store after a checkpoint, so it covers every task ever seen, live or passivated.
/// </summary>
public sealed class StateQueries(MonitorNode node)
{
    private TimeSpan Timeout => node.Settings.AskTimeout;

    public Task<ReceiverStats> ReceiverStatsAsync() => node.Receiver.Ask<ReceiverStats>(GetReceiverStats.Instance, Timeout);

    public Task<KeeperStats> KeeperStatsAsync() => node.Keeper.Ask<KeeperStats>(GetKeeperStats.Instance, Timeout);

    public Task<IndexSummary> IndexSummaryAsync(int? tasksByTimeLimit = null) =>
        node.Index.Ask<IndexSummary>(new GetIndexSummary(tasksByTimeLimit), Timeout);

    public async Task<TaskSnapshot?> TaskAsync(string uuid) =>
        (await node.Tasks.Ask<TaskReply>(new GetTask(uuid), Timeout)).Task;

    public async Task<WorkerSnapshot?> WorkerAsync(string hostname, double asOf) =>
        (await node.Workers.Ask<WorkerReply>(new GetWorker(hostname, asOf), Timeout)).Worker;

    /// <summary>Waits until every message handed to the receiver is applied and indexed.</summary>
    public Task DrainAsync(TimeSpan timeout) => node.Receiver.Ask<ReceiverDrained>(DrainReceiver.Instance, timeout);

    /// <summary>Writes every change applied so far and acks what it covers; fails when the store is unavailable.</summary>
    public Task CheckpointAsync(TimeSpan? timeout = null) =>
        node.Receiver.Ask<CheckpointDone>(CheckpointNow.Instance, timeout ?? Timeout);

    /// <summary>Checkpoints every monitor node's receiver: afterwards the store holds everything applied anywhere.</summary>
    public async Task ClusterCheckpointAsync(TimeSpan? timeout = null)
    {
        var others = OtherMonitorNodes().Select(address =>
            node.System.ActorSelection(new RootActorPath(address) / "user" / MonitorNode.ReceiverName)
                .Ask<CheckpointDone>(CheckpointNow.Instance, timeout ?? Timeout));
        await Task.WhenAll(others.Prepend(CheckpointAsync(timeout)));
    }

    /// <summary>The other reachable monitor nodes that are (or are about to be) serving.</summary>
    public IReadOnlyList<Address> OtherMonitorNodes()
    {
        var cluster = Akka.Cluster.Cluster.Get(node.System);
        var state = cluster.State;
        return state.Members
            .Where(m => m.HasRole(MonitorClient.MonitorRole) && !m.Address.Equals(cluster.SelfAddress)
                        && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving
                        && !state.Unreachable.Contains(m))
            .Select(m => m.Address)
            .ToList();
    }

    /// <summary>
    /// The whole state in the oracle's schema; "alive" judged at <paramref name="asOf"/> (default:
    /// the last local_received). Alone, the node's own index gives the counters and the task heap;
    /// with other monitor nodes, every figure comes from the store, where all of them write.
    /// Tasks are streamed from the store as the document is written.
    /// </summary>
    public async Task<StateDocument> StateAsync(double? asOf = null, CancellationToken ct = default)
    {
        var clusterWide = OtherMonitorNodes().Count > 0;
        await ClusterCheckpointAsync();
        var stats = await ReceiverStatsAsync();
        var at = asOf ?? stats.LastLocalReceived ?? MonitorNode.WallClock();
        var workers = await Task.Run(() => node.Store.AllWorkers().Select(kv => WorkerRecord.FromRow(kv.Key, kv.Value).State)
            .Where(w => w.Exists).Select(w => w.ToSnapshot(at)).ToList(), ct);
        var tasks = node.Store.AllTasks().Select(kv => TaskRecord.FromRow(kv.Key, kv.Value).State)
            .Where(t => t.Exists).Select(t => t.ToSnapshot());
        if (!clusterWide)
        {
            var summary = await IndexSummaryAsync();
            return new StateDocument(at, stats.Messages, stats.RejectedMessages, summary.EventCount, summary.TaskCount,
                summary.TaskTypes, tasks, workers, summary.TasksByTime);
        }
        var (index, totals) = await Task.Run(() =>
        {
            var restored = IndexRestore.Read(node.Store, node.Settings.MaxTimelineEntries, null, out var t);
            return (restored, t);
        }, ct);
        return new StateDocument(at, totals.Messages, totals.RejectedMessages, index.EventCount, index.TaskCount,
            index.TaskTypes.ToList(), tasks, workers, index.Timeline.TasksByTime(null).ToList());
    }
}
