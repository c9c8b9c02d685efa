using System.Data.Common;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// What SQLite and PostgreSQL do differently for the store: connections, locks, column types, a
/// few SQL spellings, how a commit writes its task rows, and SQLite's text index and planner
/// hints. Everything else (<see cref="SqlStateStore"/>, <see cref="TaskQuerySql"/>) is one SQL for both.
/// </summary>
internal interface ISqlDialect : IDisposable
{
    /// <summary>An open connection, with the settings each connection needs.</summary>
    DbConnection Open();

    string BigInt { get; }
    string Real { get; }
    string Blob { get; }

    /// <summary>Ordinal (byte) order for a text in ORDER BY and in an index: "" where it is the default.</summary>
    string Ordinal { get; }

    /// <summary>A missing value sorts lowest (SQLite's own rule): "" where it is the default for this direction.</summary>
    string NullsLowest(bool descending);

    /// <summary>The 1-based position of <paramref name="needle"/> in <paramref name="haystack"/>, 0 when absent.</summary>
    string Instr(string haystack, string needle);

    /// <summary>The function trimming given characters from both ends of a text.</summary>
    string Trim { get; }

    /// <summary>Before the schema is created: the file's directory and journal mode, where there is a file.</summary>
    void PrepareDatabase();

    bool TableExists(DbConnection c, DbTransaction tx, string table);

    /// <summary>Adds <paramref name="column"/> to <paramref name="table"/> unless it is there already (journals written before schema versions).</summary>
    void AddColumn(DbConnection c, DbTransaction tx, string table, string column, string type);

    /// <summary>Drops what journals written before schema versions may hold and no version uses.</summary>
    void DropRetired(DbConnection c, DbTransaction tx);

    /// <summary>
    /// Creates the text index when missing (or remade when written in an older form). Returns
    /// whether the index is new: its rows are indexed by <see cref="FillTextIndex"/> once the
    /// schema's transaction committed. Where there is no text index, nothing.
    /// </summary>
    bool CreateTextIndex(DbConnection c, DbTransaction tx);

    /// <summary>Indexes every stored task's texts.</summary>
    void FillTextIndex(DbConnection c);

    /// <summary>Taken in the schema's transaction, so that several nodes starting together do not race on it.</summary>
    void LockSchema(DbConnection c, DbTransaction tx);

    /// <summary>See <see cref="IStateStore.StartupLock"/>.</summary>
    IDisposable StartupLock();

    /// <summary>A reader's transaction: one snapshot for its statements, and no write lock.</summary>
    DbTransaction BeginRead(DbConnection c);

    /// <summary>
    /// A transaction in which every writer's commit in flight has ended (<see cref="IStateStore.SettledReceivers"/>);
    /// null where commits never overlap a read.
    /// </summary>
    DbTransaction? BeginSettled(DbConnection c);

    /// <summary>The store keeps a trigram index of the task texts (am_task_texts), which a commit keeps in step.</summary>
    bool HasTextIndex { get; }

    /// <summary>Writes a commit's task rows; <paramref name="stored"/> holds what their rows held before.</summary>
    void WriteTasks(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows, IReadOnlyDictionary<string, StoredTask> stored);

    /// <summary>After a commit: the database's housekeeping (SQLite truncates its WAL now and then).</summary>
    void AfterCommit(DbConnection c);

    /// <summary>The table hint that makes the planner use the right index for <paramref name="sql"/>; "" where it plans for itself.</summary>
    /// <param name="matches">How many tasks the filter selects.</param>
    string IndexHint(TaskQuerySql sql, long matches);
}

/// <summary>What a task's row held before a commit: its count key, and its texts where the text index needs them.</summary>
internal sealed record StoredTask(bool Exists, (string State, string Name, string Worker) Key, string?[] Texts);
