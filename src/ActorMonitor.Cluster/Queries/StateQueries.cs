using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Output;
using ActorMonitor.Celery.State;
using ActorMonitor.Client;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using ActorMonitor.Store;
using ActorMonitor.Store.Queries;
using Akka.Actor;
using Akka.Cluster;

namespace ActorMonitor.Cluster;

/// <summary>
/// Read side: cluster-wide figures come from the event index; one task or worker comes from its
/// entity (restored from its row when it was passivated). The full state document reads the
/// store after a checkpoint, so it covers every task ever seen, live or passivated. Task lists and
/// counts are queries of the store itself (every node's rows, as of the last checkpoint, or as of
/// now with <c>fresh</c>), run on the thread pool, never on an actor's thread.
/// </summary>
public sealed class StateQueries(MonitorNode node)
{
    private TimeSpan Timeout => node.Settings.AskTimeout;

    public Task<ReceiverStats> ReceiverStatsAsync() => node.Receiver.Ask<ReceiverStats>(GetReceiverStats.Instance, Timeout);

    public Task<KeeperStats> KeeperStatsAsync() => node.Keeper.Ask<KeeperStats>(GetKeeperStats.Instance, Timeout);

    /// <summary>This node's receiver and store counters, as /api/stats and the client library's GetStats report them.</summary>
    public async Task<StatsReply> StatsAsync()
    {
        var stats = await ReceiverStatsAsync();
        var keeper = await KeeperStatsAsync();
        return new StatsReply(Akka.Cluster.Cluster.Get(node.System).SelfAddress.ToString(), stats.Messages, stats.RejectedMessages,
            stats.AcceptedEvents, stats.RejectedEvents, stats.Clock, stats.InFlight, stats.DuplicateEvents, stats.DuplicateMessages,
            stats.AwaitingCheckpoint, stats.CheckpointFailures,
            new StoreStats(node.Settings.Journal.ToString(), keeper.LiveTasks, keeper.LiveWorkers, keeper.Dirty, keeper.Commits,
                keeper.RowsWritten, Math.Round(keeper.CommitTime.TotalSeconds, 3), keeper.FailedCommits, keeper.Passivations,
                keeper.RowsLoaded, keeper.StoreFailing, keeper.LastError),
            stats.RejectionsByCause.ToDictionary(kv => kv.Key.ToString(), kv => kv.Value)) { RelayedEvents = stats.RelayedEvents };
    }

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
    /// A page of the tasks <paramref name="query"/> selects, with their total, read from the store. With
    /// <paramref name="fresh"/>, every monitor node checkpoints first, so the page covers every event
    /// applied until now; otherwise it is as of the last checkpoint (actormonitor.checkpoint.interval).
    /// </summary>
    public async Task<TaskPage> TasksAsync(TaskQuery query, bool fresh = false, CancellationToken ct = default)
    {
        if (fresh) await ClusterCheckpointAsync();
        return await Task.Run(() => node.Store.QueryTasks(query), ct);
    }

    /// <summary>How many tasks <paramref name="filter"/> (default: all) selects, by state, name and worker.</summary>
    public async Task<TaskCounts> CountsAsync(TaskQuery? filter = null, bool fresh = false, CancellationToken ct = default)
    {
        if (fresh) await ClusterCheckpointAsync();
        return await Task.Run(() => node.Store.CountTasks(filter ?? TaskQuery.All), ct);
    }

    /// <summary>True when <paramref name="state"/> is one of Celery's states or some stored task is in it (a custom task-* state).</summary>
    public async Task<bool> IsKnownStateAsync(string state, CancellationToken ct = default) =>
        TaskStates.Precedence(state) != TaskStates.NonePrecedence || await Task.Run(() => node.Store.HasState(state), ct);

    /// <summary>Every task name seen by any node, sorted (Celery's State.task_types()).</summary>
    public Task<IReadOnlyList<string>> TaskTypesAsync(CancellationToken ct = default) => Task.Run(() => node.Store.TaskTypes(), ct);

    /// <summary>Every worker Celery's State would hold, from the store (every node's), alive judged at <paramref name="asOf"/>.</summary>
    public Task<List<WorkerSnapshot>> WorkersAsync(double asOf, CancellationToken ct = default) =>
        Task.Run(() => node.Store.AllWorkers().Select(kv => WorkerRecord.FromRow(kv.Key, kv.Value).State)
            .Where(w => w.Exists).Select(w => w.ToSnapshot(asOf)).OrderBy(w => w.Hostname, StringComparer.Ordinal).ToList(), ct);

    /// <summary>
    /// The whole state in the oracle's schema; "alive" judged at <paramref name="asOf"/> (default:
    /// the last local_received). The only writer of its store, the node's own index gives the
    /// counters and the task heap; with other monitor nodes, or alone in a store others wrote to,
    /// every figure comes from the store, where all of them write.
    /// Tasks are streamed from the store as the document is written.
    /// </summary>
    public async Task<StateDocument> StateAsync(double? asOf = null, CancellationToken ct = default)
    {
        // Alone now, but other nodes wrote to this store (they left or were downed since this node
        // restored its index): what they applied is in the store, not in this node's index.
        var clusterWide = OtherMonitorNodes().Count > 0
            || await Task.Run(() => node.Store.Receivers().Any(r => r.NodeName != node.Settings.NodeName), ct);
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
