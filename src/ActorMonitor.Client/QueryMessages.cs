using ActorMonitor.Celery.State;

namespace ActorMonitor.Client;

/// <summary>
/// Every message of this library on the wire (queries and their answers): one serializer binding,
/// <see cref="QuerySerializer"/>, serves them all.
/// </summary>
public interface IQueryWireMessage;

/// <summary>Any message routed to the task entity of <see cref="Uuid"/>.</summary>
public interface ITaskEntityMessage
{
    string Uuid { get; }
}

/// <summary>Any message routed to the worker entity of <see cref="Hostname"/>.</summary>
public interface IWorkerEntityMessage
{
    string Hostname { get; }
}

/// <summary>Ask for a task; answered with <see cref="TaskReply"/>.</summary>
public sealed record GetTask(string Uuid) : ITaskEntityMessage, IQueryWireMessage;

/// <summary><see cref="Task"/> is null when no event for the uuid was ever applied.</summary>
public sealed record TaskReply(string Uuid, TaskSnapshot? Task) : IQueryWireMessage;

/// <summary>Ask for a worker, "alive" judged at <paramref name="AsOf"/> (epoch seconds); answered with <see cref="WorkerReply"/>.</summary>
public sealed record GetWorker(string Hostname, double AsOf) : IWorkerEntityMessage, IQueryWireMessage;

/// <summary><see cref="Worker"/> is null when Celery's State would not hold this hostname.</summary>
public sealed record WorkerReply(string Hostname, WorkerSnapshot? Worker) : IQueryWireMessage;

/// <summary>
/// A message for the query endpoint of a monitor node (<c>/user/query-api</c>, see
/// <see cref="MonitorClient.QueryEndpointPath"/>); any monitor node answers for the whole cluster.
/// </summary>
public interface IMonitorQuery : IQueryWireMessage;

/// <summary>
/// The task filters of <c>/api/query/tasks</c> and <c>/api/query/counts</c>, with the same names and
/// values. Every filter is optional (null or empty: no filter) and all of them must hold; text is
/// compared exactly. A task without the <see cref="TimeField"/> does not match a range.
/// </summary>
public abstract record TaskFilter : IMonitorQuery
{
    /// <summary>One of Celery's states, or the state of some stored task (a custom state).</summary>
    public string? State { get; init; }

    public string? Name { get; init; }

    /// <summary>The worker of the task's last worker event.</summary>
    public string? Worker { get; init; }

    /// <summary>What <see cref="Since"/> and <see cref="Until"/> bound: received, started, succeeded, failed or timestamp.</summary>
    public string TimeField { get; init; } = "received";

    /// <summary>Epoch seconds, inclusive.</summary>
    public double? Since { get; init; }

    public double? Until { get; init; }

    /// <summary>A substring of the task's args, kwargs, result or exception (at most 256 characters).</summary>
    public string? Search { get; init; }

    /// <summary>
    /// True: every monitor node checkpoints first, so the answer covers every event applied until
    /// now; false: as of the last checkpoint (actormonitor.checkpoint.interval, 200 ms by default).
    /// </summary>
    public bool Fresh { get; init; }
}

/// <summary>A page of tasks, as <c>/api/query/tasks</c>; answered with <see cref="TasksReply"/> or <see cref="QueryFailed"/>.</summary>
public sealed record GetTasks : TaskFilter
{
    /// <summary>received, started, succeeded, failed, timestamp or name.</summary>
    public string Sort { get; init; } = "received";

    public bool Descending { get; init; } = true;

    /// <summary>1..1000.</summary>
    public int Limit { get; init; } = 50;

    /// <summary>0..100000.</summary>
    public int Offset { get; init; }
}

/// <summary>A page of tasks in the oracle's schema, and how many tasks the filter matches in all.</summary>
public sealed record TasksReply(long Total, int Limit, int Offset, IReadOnlyList<TaskSnapshot> Tasks) : IQueryWireMessage;

/// <summary>How many tasks match, as <c>/api/query/counts</c>; answered with <see cref="CountsReply"/> or <see cref="QueryFailed"/>.</summary>
public sealed record GetCounts : TaskFilter;

/// <summary>Tasks without a name or a worker count in <see cref="Total"/> only.</summary>
public sealed record CountsReply(
    long Total,
    IReadOnlyDictionary<string, long> ByState,
    IReadOnlyDictionary<string, long> ByName,
    IReadOnlyDictionary<string, long> ByWorker) : IQueryWireMessage;

/// <summary>Every worker Celery's State would hold, "alive" judged at <paramref name="AsOf"/> (epoch seconds); answered with <see cref="WorkersReply"/> or <see cref="QueryFailed"/>.</summary>
public sealed record GetWorkers(double AsOf) : IMonitorQuery;

/// <summary>The workers, sorted by hostname.</summary>
public sealed record WorkersReply(IReadOnlyList<WorkerSnapshot> Workers) : IQueryWireMessage;

/// <summary>The answering node's counters, as <c>/api/stats</c> shows them; answered with <see cref="StatsReply"/> or <see cref="QueryFailed"/>.</summary>
public sealed record GetStats : IMonitorQuery
{
    public static readonly GetStats Instance = new();
}

/// <summary>
/// One node's receiver counters (<paramref name="Node"/> is its address) and its store's
/// (<paramref name="Store"/>); <paramref name="Rejections"/> counts rejected messages and events by cause.
/// </summary>
public sealed record StatsReply(
    string Node,
    long Messages,
    long Rejected,
    long AcceptedEvents,
    long RejectedEvents,
    long Clock,
    int InFlight,
    long DuplicateEvents,
    long DuplicateMessages,
    int AwaitingCheckpoint,
    int CheckpointFailures,
    StoreStats Store,
    IReadOnlyDictionary<string, long> Rejections) : IQueryWireMessage
{
    /// <summary>Events this node's receiver sent in batches to the node holding their entities (since it started).</summary>
    public long RelayedEvents { get; init; }
}

/// <summary>The store of one node, as the "store" object of <c>/api/stats</c>.</summary>
public sealed record StoreStats(
    string Journal,
    int LiveTasks,
    int LiveWorkers,
    int Dirty,
    long Commits,
    long RowsWritten,
    double CommitSeconds,
    long FailedCommits,
    long Passivations,
    long RowsLoaded,
    bool Failing,
    string? LastError);

/// <summary>
/// A query that was not answered: <paramref name="Invalid"/> when the query itself is outside the
/// limits (HTTP's 400), else the store or a node could not answer now (HTTP's 503).
/// </summary>
public sealed record QueryFailed(string Error, bool Invalid) : IQueryWireMessage;

/// <summary>What <see cref="MonitorClient"/> throws for a <see cref="QueryFailed"/> answer.</summary>
public sealed class MonitorQueryException(string message, bool invalid) : Exception(message)
{
    /// <summary>The query was outside the limits; asking again will not help.</summary>
    public bool Invalid { get; } = invalid;
}
