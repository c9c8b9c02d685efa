using ActorMonitor.Celery.Output;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Index;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;

namespace ActorMonitor.Cluster;

/// <summary>
/// Read side: cluster-wide figures come from the event index; a task or worker comes from its
/// entity. Only the full state document (replay, state) reads every entity, with bounded
/// parallelism.
/// </summary>
public sealed class StateQueries(MonitorNode node)
{
    private TimeSpan Timeout => node.Settings.AskTimeout;

    public Task<ReceiverStats> ReceiverStatsAsync() => node.Receiver.Ask<ReceiverStats>(GetReceiverStats.Instance, Timeout);

    public Task<IndexSummary> IndexSummaryAsync(int? tasksByTimeLimit = null) =>
        node.Index.Ask<IndexSummary>(new GetIndexSummary(tasksByTimeLimit), Timeout);

    public async Task<TaskSnapshot?> TaskAsync(string uuid) =>
        (await node.Tasks.Ask<TaskReply>(new GetTask(uuid), Timeout)).Task;

    public async Task<WorkerSnapshot?> WorkerAsync(string hostname, double asOf) =>
        (await node.Workers.Ask<WorkerReply>(new GetWorker(hostname, asOf), Timeout)).Worker;

    /// <summary>Waits until every message handed to the receiver is applied and indexed.</summary>
    public Task DrainAsync(TimeSpan timeout) => node.Receiver.Ask<ReceiverDrained>(DrainReceiver.Instance, timeout);

    /// <summary>The whole state in the oracle's schema; "alive" judged at <paramref name="asOf"/> (default: the last local_received).</summary>
    public async Task<StateDocument> StateAsync(double? asOf = null, CancellationToken ct = default)
    {
        var stats = await ReceiverStatsAsync();
        var summary = await IndexSummaryAsync();
        var at = asOf ?? stats.LastLocalReceived ?? MonitorNode.WallClock();

        var tasks = await ReadAllAsync(summary.TaskUuids, TaskAsync, ct);
        var workers = await ReadAllAsync(summary.WorkerHostnames, h => WorkerAsync(h, at), ct);
        return new StateDocument(at, stats.Messages, stats.RejectedMessages, summary.EventCount, summary.TaskCount,
            summary.TaskTypes, tasks, workers, summary.TasksByTime);
    }

    private async Task<List<T>> ReadAllAsync<T>(IReadOnlyList<string> ids, Func<string, Task<T?>> read, CancellationToken ct)
        where T : class
    {
        var results = new T?[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count),
            new ParallelOptions { MaxDegreeOfParallelism = node.Settings.QueryParallelism, CancellationToken = ct },
            async (i, _) => results[i] = await read(ids[i]));
        return results.Where(r => r is not null).ToList()!;
    }
}
