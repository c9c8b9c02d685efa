namespace ActorMonitor.Store;

/// <summary>
/// One task's stored row: the entity's whole state, plus columns the read side filters and sorts
/// on. The texts are what Celery sent (a JSON string decoded, any other JSON value as its JSON
/// text); <see cref="HeapClock"/> and <see cref="HeapOrigin"/> are the task's rank in Celery's task
/// heap (its event with the highest clock, then origin), the order Flower lists tasks in.
/// </summary>
public sealed record TaskRow(
    string Uuid,
    byte[] Data,
    long LastSeq,
    long EventCount,
    long ReceivedCount,
    string? Name,
    string? State,
    string? Worker,
    double? Received,
    double? Started,
    double? Succeeded,
    double? Failed,
    double? Timestamp,
    double? Runtime = null,
    string? Args = null,
    string? Kwargs = null,
    string? Result = null,
    string? Exception = null,
    long HeapClock = 0,
    string? HeapOrigin = null)
{
    /// <summary>Celery's State holds the task once an event for it was applied (a row can exist for a parent only adopted).</summary>
    public bool Exists => EventCount > 0;

    /// <summary>
    /// No row existed when the task's entity started and none of its rows was collected since:
    /// the store has nothing of it to read before writing this one (most rows of a busy cluster).
    /// </summary>
    public bool New { get; init; }
}

public sealed record WorkerRow(string Hostname, byte[] Data, long EventCount);

/// <summary>
/// A receiver's checkpoint, written in the same transaction as the rows it covers: the
/// cluster-wide counters sum these rows, a restarting node resumes from it when it is newer than
/// its journal's copy, and other nodes recognise the messages it counted when the broker
/// redelivers them after this node was lost. <paramref name="Checkpoint"/>: the JSON of the
/// receiver's checkpoint.
/// </summary>
public sealed record ReceiverRow(string NodeName, long Messages, long RejectedMessages, long OtherEvents, long Cut, byte[] Checkpoint);

/// <summary>What one checkpoint writes, in one transaction.</summary>
public sealed record StoreCommit(IReadOnlyList<TaskRow> Tasks, IReadOnlyList<WorkerRow> Workers, IReadOnlyCollection<string> TaskTypes)
{
    /// <summary>The counters of this node's receiver, when its checkpoint asked for this commit.</summary>
    public IReadOnlyList<ReceiverRow> Receivers { get; init; } = [];

    /// <summary>
    /// The node incarnation writing (see <see cref="IStateStore.RegisterWriter"/>): the commit is
    /// refused with <see cref="WriterFencedException"/> once it was fenced. Null: not checked.
    /// </summary>
    public string? Writer { get; init; }

    public int Count => Tasks.Count + Workers.Count + Receivers.Count;
}

/// <summary>
/// The cluster-wide counters as sums over the stored rows: tasks and workers (their events,
/// counted once each), and every node's receiver (messages, and events of no task or worker).
/// </summary>
public sealed record StoredTotals(long TaskEvents, long TaskCount, long WorkerEvents, long MaxSeq, IReadOnlyList<string> TaskTypes)
{
    public long Messages { get; init; }
    public long RejectedMessages { get; init; }
    public long OtherEvents { get; init; }
}

/// <summary>
/// Durable task and worker rows. Calls block (the keeper runs them off the actor thread); every
/// write is one transaction, so the rows and the counters they carry never disagree.
/// </summary>
public interface IStateStore : IDisposable
{
    StoreTarget Target { get; }

    /// <summary>Creates the tables when missing; safe when several nodes start at once.</summary>
    void Initialize();

    /// <summary>
    /// Held while a starting node lets Akka.Persistence.Sql create its own tables (journal, tags,
    /// snapshot), so that several nodes starting together on an empty PostgreSQL database do not
    /// race on CREATE TABLE (its auto-initialize fails with 23505 pg_type_typname_nsp_index and can
    /// drop events). Nothing to hold for SQLite and memory.
    /// </summary>
    IDisposable StartupLock();

    void Commit(StoreCommit commit);

    /// <summary>A node incarnation (address and uid) that will name itself as the writer of its commits.</summary>
    void RegisterWriter(string incarnation, string address);

    /// <summary>
    /// Refuses every later commit of <paramref name="incarnation"/> (a node the cluster downed: its
    /// shards move, and rows it wrote from now on would overwrite the new owners'). Returns once a
    /// commit of that writer still in progress has ended, so nothing it writes lands after this.
    /// </summary>
    void Fence(string incarnation, string address, string fencedBy);

    IReadOnlyDictionary<string, byte[]> LoadTasks(IReadOnlyCollection<string> uuids);

    IReadOnlyDictionary<string, byte[]> LoadWorkers(IReadOnlyCollection<string> hostnames);

    StoredTotals ReadTotals();

    /// <summary>The rows of the <paramref name="count"/> tasks with the latest events.</summary>
    IReadOnlyList<KeyValuePair<string, byte[]>> LatestTasks(int count);

    /// <summary>Every receiver's stored checkpoint row.</summary>
    IReadOnlyList<ReceiverRow> Receivers();

    /// <summary>
    /// Every receiver's row once no node's commit is in flight (waiting up to 30 s): a redelivered
    /// message is looked up here, and a node that stalled in the middle of a commit counting it
    /// must not land that count after the lookup missed it.
    /// </summary>
    IReadOnlyList<ReceiverRow> SettledReceivers() => Receivers();

    /// <summary>Every task row, in ordinal uuid order, read as it is enumerated.</summary>
    IEnumerable<KeyValuePair<string, byte[]>> AllTasks();

    IEnumerable<KeyValuePair<string, byte[]>> AllWorkers();

    /// <summary>Every stored task's uuid without its row: what counting rows per shard needs.</summary>
    IEnumerable<string> TaskIds() => AllTasks().Select(kv => kv.Key);

    /// <summary>Every stored worker's hostname without its row.</summary>
    IEnumerable<string> WorkerIds() => AllWorkers().Select(kv => kv.Key);

    /// <summary>One page of the tasks <paramref name="query"/> selects, and their total.</summary>
    Queries.TaskPage QueryTasks(Queries.TaskQuery query);

    /// <summary>How many tasks <paramref name="filter"/> selects, by state, name and worker (its page is ignored).</summary>
    Queries.TaskCounts CountTasks(Queries.TaskQuery filter);

    /// <summary>True when some stored task is in <paramref name="state"/>.</summary>
    bool HasState(string state);

    /// <summary>Every task name seen, sorted.</summary>
    IReadOnlyList<string> TaskTypes();
}

/// <summary>A commit of a node incarnation the cluster downed and fenced: nothing of it was written.</summary>
public sealed class WriterFencedException(string incarnation, string? fencedBy)
    : Exception($"this node ({incarnation}) was downed by the cluster and fenced{(fencedBy is null ? "" : " by " + fencedBy)}: its writes are refused")
{
    public string Incarnation { get; } = incarnation;
}
