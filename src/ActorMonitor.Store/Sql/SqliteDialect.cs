using System.Data.Common;
using Microsoft.Data.Sqlite;
using static ActorMonitor.Store.Sql.SqlCommands;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// SQLite: one file in WAL mode, one writer at a time, a trigram index (FTS5) of the task texts
/// kept by the commits, and the indexes named in queries (its planner has no statistics here).
/// </summary>
internal sealed class SqliteDialect(StoreTarget target) : ISqlDialect
{
    /// <summary>See <see cref="SqlStateStore.MaxPages"/>.</summary>
    public long? MaxPages
    {
        get => _maxPages;
        set
        {
            _maxPages = value;
            _capped |= value is not null;
        }
    }

    private long? _maxPages;
    private bool _capped; // pooled connections keep a cap set once: lifted explicitly

    /// <summary>See <see cref="SqlStateStore.WalTruncateEvery"/>.</summary>
    public TimeSpan WalTruncateEvery { get; set; } = TimeSpan.FromSeconds(30);

    // SQLite checkpoints the WAL by itself every 1,000 pages but never shrinks the file; any
    // checkpoint that empties it truncates it to this size.
    private const long WalSizeLimit = 4 * 1024 * 1024;

    private long _lastWalTruncate = Environment.TickCount64;

    public DbConnection Open()
    {
        var c = new SqliteConnection(target.ConnectionString);
        c.Open();
        Execute(c, null, $"PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA journal_size_limit={WalSizeLimit};" +
            (_capped ? $" PRAGMA max_page_count={_maxPages ?? 4294967294};" : ""));
        return c;
    }

    public string BigInt => "INTEGER";
    public string Real => "REAL";
    public string Blob => "BLOB";
    public string Ordinal => "";
    public string NullsLowest(bool descending) => "";
    public string Instr(string haystack, string needle) => $"instr({haystack}, {needle})";
    public string Trim => "trim";

    public void PrepareDatabase()
    {
        if (Path.GetDirectoryName(target.Location) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        using var c = Open();
        Execute(c, null, "PRAGMA journal_mode=WAL;");
    }

    public void LockSchema(DbConnection c, DbTransaction tx) { } // one writer at a time already

    public IDisposable StartupLock() => new NoLock();

    private sealed class NoLock : IDisposable
    {
        public void Dispose() { }
    }

    // A deferred BEGIN takes no write lock (the keeper keeps committing).
    public DbTransaction BeginRead(DbConnection c) => ((SqliteConnection)c).BeginTransaction(deferred: true);

    public DbTransaction? BeginSettled(DbConnection c) => null; // a single writer: no commit overlaps a read

    public void AddColumn(DbConnection c, DbTransaction tx, string table, string column, string type)
    {
        using (var cmd = c.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = $"PRAGMA table_info({table})";
            using var r = cmd.ExecuteReader();
            while (r.Read())
                if (string.Equals(r.GetString(1), column, StringComparison.OrdinalIgnoreCase)) return;
        }
        Execute(c, tx, $"ALTER TABLE {table} ADD COLUMN {column} {type}");
    }

    public bool HasTextIndex => true;

    public void WriteTasks(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows, IReadOnlyDictionary<string, StoredTask> stored)
    {
        // One prepared single-row statement, re-bound per row (no round trips to save, and
        // binding thousands of named parameters of one big statement costs more than it saves).
        var reindex = TextIndex.UnindexChanged(c, tx, rows, stored);
        TaskColumns.UpsertOneByOne(c, tx, rows);
        TextIndex.Index(c, tx, reindex);
    }

    public void AfterCommit(DbConnection c)
    {
        if (Environment.TickCount64 - _lastWalTruncate < WalTruncateEvery.TotalMilliseconds) return;
        _lastWalTruncate = Environment.TickCount64;
        // Readers in the middle of a snapshot keep what they read: the checkpoint then stops
        // short (busy) and the next one truncates.
        // The commit is durable already: a checkpoint that fails (a full disk) is tried again next time.
        try { Execute(c, null, "PRAGMA wal_checkpoint(TRUNCATE)"); }
        catch (DbException) { }
    }

    public bool TableExists(DbConnection c, DbTransaction tx, string table) =>
        Scalar(c, tx, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = @n", ("@n", table)) is not null;

    // A covering index of the texts, dropped: it doubled their cost on disk for short searches only.
    public void DropRetired(DbConnection c, DbTransaction tx) => Execute(c, tx, "DROP INDEX IF EXISTS am_tasks_q_text");

    public bool CreateTextIndex(DbConnection c, DbTransaction tx) => TextIndex.Create(c, tx);

    public void FillTextIndex(DbConnection c) => Execute(c, null, "INSERT INTO am_task_texts (am_task_texts) VALUES ('rebuild')");

    public string IndexHint(TaskQuerySql sql, long matches) => SqliteIndexHints.For(sql, matches);

    public void Dispose() => SqliteConnection.ClearAllPools();
}
