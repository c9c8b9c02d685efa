using ActorMonitor.Store;
using Akka.Actor;

namespace ActorMonitor.Cluster.Persistence;

public enum EntityKind { Task, Worker }

/// <summary>
/// Sent by an entity as it starts (a worker) or by a task bucket for a task it starts to hold:
/// registers the task or worker with its node's keeper, answered with <see cref="RowLoaded"/>.
/// </summary>
public sealed record LoadEntity(EntityKind Kind, string Id);

/// <summary>The stored row of <paramref name="Id"/>, or null when it was never stored (a new task or worker).</summary>
public sealed record RowLoaded(string Id, byte[]? Data);

/// <summary>
/// What an entity did with a message, in one message to its node's keeper: <paramref name="Changed"/>
/// says the record changed since its row was last collected (once per change of clean to dirty);
/// <paramref name="Answer"/> goes on to <paramref name="ReplyTo"/> (a receiver) and
/// <paramref name="Observed"/> to the node's metrics, both in the keeper's next batch. The keeper
/// learns of the change before the receiver learns of the answer, so a checkpoint the answer lets
/// start always collects the row.
/// </summary>
public sealed record EntityApplied(EntityKind Kind, string Id, bool Changed, IActorRef? ReplyTo = null, EventsApplied? Answer = null,
    Metrics.TaskObserved? Observed = null);

/// <summary>The entity answered a query: it becomes the most recently used.</summary>
public sealed record EntityTouched(EntityKind Kind, string Id);

/// <summary>Asks for the row of a changed task or worker; answered with <see cref="EntityRow"/>.</summary>
public sealed record CollectRow(string Id, long CycleId);

/// <summary>A row as the store writes it: a <see cref="TaskRow"/> (with the task names it saw) or a <see cref="WorkerRow"/>.</summary>
public sealed record EntityRow(EntityKind Kind, string Id, long CycleId, TaskRow? Task, WorkerRow? Worker, IReadOnlyCollection<string> TaskNames);

/// <summary>A changed task or worker whose entity must stop: the keeper answers <see cref="RowSaved"/> once its row is committed.</summary>
public sealed record SaveAndStop(EntityRow Row);

public sealed record RowSaved(string Id);

/// <summary>The keeper asks for a least recently used, clean task or worker to leave memory.</summary>
public sealed record PassivateEntity(string Id);

/// <summary>
/// A task bucket no longer holds the task: it left memory (passivated, or asked for and never
/// seen), or the bucket was asked about a task it does not hold. For the keeper, the task's
/// entity terminated.
/// </summary>
public sealed record EntityGone(EntityKind Kind, string Id);

/// <summary>Asked to passivate a task that changed since the keeper chose it: it stays, and counts as live again.</summary>
public sealed record PassivationDeclined(EntityKind Kind, string Id);

/// <summary>The shard's stop message (passivation and hand-off): a dirty entity saves its row first.</summary>
public sealed record StopEntity
{
    public static readonly StopEntity Instance = new();
}

/// <summary>
/// Commit every row changed so far; answered with <see cref="CheckpointCommitted"/> or
/// <see cref="CheckpointFailed"/>. A receiver tells every node's keeper (entities anywhere may hold
/// its events); its own node's keeper also gets the receiver's counters to write with the rows.
/// </summary>
public sealed record Checkpoint(long Id, ReceiverRow? Receiver = null);

public sealed record CheckpointCommitted(long Id);

public sealed record CheckpointFailed(long Id, string Reason);

/// <summary>
/// Answered with <see cref="LiveTasksByShard"/>: the tasks this node holds in memory, counted per
/// task shard (Akka's sharding statistics count one bucket per shard).
/// </summary>
public sealed record GetLiveTasksByShard
{
    public static readonly GetLiveTasksByShard Instance = new();
}

public sealed record LiveTasksByShard(IReadOnlyDictionary<string, int> Counts);

/// <summary>Answered with <see cref="KeeperStats"/>.</summary>
public sealed record GetKeeperStats
{
    public static readonly GetKeeperStats Instance = new();
}

public sealed record KeeperStats(
    int LiveTasks,
    int LiveWorkers,
    int Dirty,
    long Commits,
    long RowsWritten,
    long FailedCommits,
    long Passivations,
    long RowsLoaded,
    long LoadsMissed,
    string? LastError)
{
    /// <summary>The last write or load failed and none has succeeded since.</summary>
    public bool StoreFailing { get; init; }

    /// <summary>Time spent in the store's successful commits (one at a time): against the node's uptime, how busy the write path is.</summary>
    public TimeSpan CommitTime { get; init; }
}

internal sealed record CommitDone(IReadOnlyList<(EntityRow Row, long Seq)> Rows, IReadOnlyList<(IActorRef Entity, string Id)> Savers, IReadOnlyList<(IActorRef ReplyTo, long Id)> Waiters,
    TimeSpan Took = default);

internal sealed record CommitError(Exception Cause, IReadOnlyList<EntityRow> Rows, IReadOnlyList<(IActorRef Entity, string Id)> Savers, IReadOnlyList<(IActorRef ReplyTo, long Id)> Waiters,
    IReadOnlyList<ReceiverRow> Receivers);

internal sealed record LoadsDone(EntityKind Kind, IReadOnlyList<(IActorRef Entity, string Id)> Requests, IReadOnlyDictionary<string, byte[]>? Rows, Exception? Error);

internal sealed record FlushAnswers
{
    public static readonly FlushAnswers Instance = new();
}

internal sealed record RetryCycle
{
    public static readonly RetryCycle Instance = new();
}
