using System.Data;
using System.Data.Common;
using System.Text;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.State;
using ActorMonitor.Store.Queries;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// Task and worker rows in SQLite (WAL) or PostgreSQL, written by batched multi-row upserts in
/// one transaction per checkpoint. The same SQL serves both (INSERT ... ON CONFLICT DO UPDATE);
/// only the column types and the start-up lock differ.
/// </summary>
public sealed class SqlStateStore : IStateStore
{
    private const int RowsPerStatement = 200;

    private static readonly string[] TaskColumns =
    [
        "uuid", "last_seq", "event_count", "received_count", "name", "state", "worker", "received", "started", "succeeded", "failed", "timestamp",
        "runtime", "heap_clock", "heap_origin", "args", "kwargs", "result", "exception", "data",
    ];

    // A null parameter needs its column's type (PostgreSQL does not cast text to double precision).
    private static readonly DbType[] TaskColumnTypes =
    [
        DbType.String, DbType.Int64, DbType.Int64, DbType.Int64, DbType.String, DbType.String, DbType.String,
        DbType.Double, DbType.Double, DbType.Double, DbType.Double, DbType.Double,
        DbType.Double, DbType.Int64, DbType.String, DbType.String, DbType.String, DbType.String, DbType.String, DbType.Binary,
    ];

    private static object?[] TaskValues(TaskRow r) =>
    [
        r.Uuid, r.LastSeq, r.EventCount, r.ReceivedCount, r.Name, r.State, r.Worker, r.Received, r.Started, r.Succeeded, r.Failed, r.Timestamp,
        r.Runtime, r.HeapClock, r.HeapOrigin, r.Args, r.Kwargs, r.Result, r.Exception, r.Data,
    ];

    /// <summary>Columns the query side added to am_tasks, with their types, for databases created before them.</summary>
    private static readonly (string Name, string Sqlite, string Postgres)[] QueryColumns =
    [
        ("runtime", "REAL", "DOUBLE PRECISION"), ("heap_clock", "INTEGER", "BIGINT"), ("heap_origin", "TEXT", "TEXT"),
        ("args", "TEXT", "TEXT"), ("kwargs", "TEXT", "TEXT"), ("result", "TEXT", "TEXT"), ("exception", "TEXT", "TEXT"),
    ];

    private readonly bool _postgres;
    private readonly object _writeGate = new();

    public SqlStateStore(StoreTarget target)
    {
        if (target.Kind == StoreKind.Memory) throw new ArgumentException("a SQL store needs sqlite: or postgres:", nameof(target));
        Target = target;
        _postgres = target.Kind == StoreKind.Postgres;
    }

    public StoreTarget Target { get; }

    /// <summary>
    /// SQLite only: a cap on the file's pages (SQLite's max_page_count); a write beyond it fails as
    /// on a full disk. Null: SQLite's own limit.
    /// </summary>
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

    /// <summary>SQLite only: how often a commit also checkpoints the WAL into the file and truncates it.</summary>
    public TimeSpan WalTruncateEvery { get; set; } = TimeSpan.FromSeconds(30);

    // SQLite checkpoints the WAL by itself every 1,000 pages but never shrinks the file; any
    // checkpoint that empties it truncates it to this size.
    private const long WalSizeLimit = 4 * 1024 * 1024;

    private long _lastWalTruncate = Environment.TickCount64;

    private DbConnection Open()
    {
        DbConnection c = _postgres ? new NpgsqlConnection(Target.ConnectionString) : new SqliteConnection(Target.ConnectionString);
        c.Open();
        if (!_postgres)
            Execute(c, null, $"PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000; PRAGMA journal_size_limit={WalSizeLimit};" +
                (_capped ? $" PRAGMA max_page_count={_maxPages ?? 4294967294};" : ""));
        return c;
    }

    public void Initialize()
    {
        if (!_postgres && Path.GetDirectoryName(Target.Location) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        var bigint = _postgres ? "BIGINT" : "INTEGER";
        var real = _postgres ? "DOUBLE PRECISION" : "REAL";
        var blob = _postgres ? "BYTEA" : "BLOB";
        using var c = Open();
        if (!_postgres) Execute(c, null, "PRAGMA journal_mode=WAL;");
        using var tx = c.BeginTransaction();
        // Several nodes starting together would race on CREATE TABLE IF NOT EXISTS in PostgreSQL.
        if (_postgres) Execute(c, tx, "SELECT pg_advisory_xact_lock(727274001)");
        Execute(c, tx, $"""
            CREATE TABLE IF NOT EXISTS am_tasks (
              uuid TEXT PRIMARY KEY, last_seq {bigint} NOT NULL, event_count {bigint} NOT NULL, received_count {bigint} NOT NULL,
              name TEXT, state TEXT, worker TEXT, received {real}, started {real}, succeeded {real}, failed {real}, timestamp {real},
              runtime {real}, heap_clock {bigint}, heap_origin TEXT, args TEXT, kwargs TEXT, result TEXT, exception TEXT,
              data {blob} NOT NULL);
            CREATE INDEX IF NOT EXISTS am_tasks_last_seq ON am_tasks (last_seq);
            CREATE TABLE IF NOT EXISTS am_workers (hostname TEXT PRIMARY KEY, event_count {bigint} NOT NULL, data {blob} NOT NULL);
            CREATE TABLE IF NOT EXISTS am_task_types (name TEXT PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS am_task_counts (state TEXT NOT NULL, name TEXT NOT NULL, worker TEXT NOT NULL, n {bigint} NOT NULL,
              PRIMARY KEY (state, name, worker));
            CREATE TABLE IF NOT EXISTS am_writers (
              incarnation TEXT PRIMARY KEY, address TEXT NOT NULL, registered {real} NOT NULL, commits {bigint} NOT NULL,
              fenced_at {real}, fenced_by TEXT);
            CREATE TABLE IF NOT EXISTS am_receivers (
              node_name TEXT PRIMARY KEY, messages {bigint} NOT NULL, rejected_messages {bigint} NOT NULL, other_events {bigint} NOT NULL,
              cut {bigint} NOT NULL, checkpoint {blob} NOT NULL);
            """);
        AddQueryColumns(c, tx);
        // A covering index of the texts, dropped: it doubled their cost on disk for short searches only.
        if (!_postgres) Execute(c, tx, "DROP INDEX IF EXISTS am_tasks_q_text");
        Execute(c, tx, QueryIndexes());
        var indexTexts = !_postgres && CreateTextIndex(c, tx);
        // Tasks written before the counts existed are counted once, under the lock that created them.
        Execute(c, tx, """
            INSERT INTO am_task_counts (state, name, worker, n)
            SELECT COALESCE(state, ''), COALESCE(name, ''), COALESCE(worker, ''), COUNT(*) FROM am_tasks
            WHERE event_count > 0 AND NOT EXISTS (SELECT 1 FROM am_task_counts) GROUP BY 1, 2, 3
            """);
        tx.Commit();
        Backfill(c);
        // A database written before the index: its tasks are indexed once, from their (filled) rows.
        if (indexTexts) Execute(c, null, "INSERT INTO am_task_texts (am_task_texts) VALUES ('rebuild')");
    }

    // A database written before the query side: its task rows get the new columns, filled below.
    private void AddQueryColumns(DbConnection c, DbTransaction tx)
    {
        if (_postgres)
        {
            foreach (var (name, _, type) in QueryColumns) Execute(c, tx, $"ALTER TABLE am_tasks ADD COLUMN IF NOT EXISTS {name} {type}");
            return;
        }
        var existing = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using (var cmd = c.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "PRAGMA table_info(am_tasks)";
            using var r = cmd.ExecuteReader();
            while (r.Read()) existing.Add(r.GetString(1));
        }
        foreach (var (name, type, _) in QueryColumns)
            if (!existing.Contains(name)) Execute(c, tx, $"ALTER TABLE am_tasks ADD COLUMN {name} {type}");
    }

    /// <summary>
    /// The read side's indexes: each filter column with received (the default sort) after it, each
    /// time field, and Celery's heap order. Partial (tasks that exist, the condition every query
    /// carries), so counts are answered from the index alone. PostgreSQL sorts missing values
    /// first, as SQLite does, so that one index serves both directions.
    /// </summary>
    private string QueryIndexes()
    {
        string Asc(string col) => _postgres ? col + " NULLS FIRST" : col;
        var c = _postgres ? " COLLATE \"C\"" : "";
        (string Name, string Columns)[] indexes =
        [
            ("state", $"state, {Asc("received")}"), ("name", $"name{c}, {Asc("received")}"), ("worker", $"worker, {Asc("received")}"),
            ("received", Asc("received")), ("started", Asc("started")), ("succeeded", Asc("succeeded")), ("failed", Asc("failed")),
            ("timestamp", Asc("timestamp")), ("heap", $"heap_clock, {Asc("heap_origin" + c)}, last_seq"),
            // Flower's task list sorted by started within a state: REVOKED and RECEIVED tasks have no
            // started time, so the heap order that breaks the ties is in the index too.
            ("state_started", $"state, {Asc("started")}, heap_clock, {Asc("heap_origin" + c)}, last_seq"),
        ];
        return string.Concat(indexes.Select(i => $"CREATE INDEX IF NOT EXISTS am_tasks_q_{i.Name} ON am_tasks ({i.Columns}) WHERE event_count > 0;\n"));
    }

    /// <summary>
    /// SQLite only: a trigram index of the four search texts (FTS5, case-sensitive as instr is),
    /// so a text search looks up the tasks whose text holds its trigrams instead of reading a million
    /// texts (without positions, detail=none, the index is much smaller; the query's instr
    /// test keeps the tasks that hold the text itself).
    /// The commit keeps it, a few statements per batch (<see cref="UnindexChangedTexts"/>, <see cref="IndexTexts"/>), not row triggers,
    /// which cost several times the rest of the write (FTS5 writes its pending terms out at every
    /// statement that touches it; bench/RESULTS.md). Deleting a task is
    /// rare enough for a trigger. Returns whether the index is new (its rows are indexed later).
    /// </summary>
    private static bool CreateTextIndex(DbConnection c, DbTransaction tx)
    {
        using var probe = c.CreateCommand();
        probe.Transaction = tx;
        probe.CommandText = "SELECT sql FROM sqlite_master WHERE name = 'am_task_texts'";
        var existing = probe.ExecuteScalar() as string;
        // An index written with positions (detail=full, much larger) is made again without.
        if (existing is not null && !existing.Contains("detail=none", StringComparison.Ordinal))
        {
            Execute(c, tx, "DROP TABLE am_task_texts");
            existing = null;
        }
        var existed = existing is not null;
        Execute(c, tx, $"""
            CREATE VIRTUAL TABLE IF NOT EXISTS am_task_texts USING fts5({TextColumns}, content='am_tasks', content_rowid='rowid',
              tokenize='trigram case_sensitive 1', detail=none);
            DROP TRIGGER IF EXISTS am_tasks_texts_insert;
            DROP TRIGGER IF EXISTS am_tasks_texts_update;
            CREATE TRIGGER IF NOT EXISTS am_tasks_texts_delete AFTER DELETE ON am_tasks BEGIN
              INSERT INTO am_task_texts (am_task_texts, rowid, {TextColumns}) VALUES ('delete', old.rowid, old.args, old.kwargs, old.result, old.exception);
            END;
            """);
        return !existed;
    }

    private const string TextColumns = "args, kwargs, result, exception";

    /// <summary>Fills the query columns of rows written before they existed, a batch at a time (any node may do it; it is idempotent).</summary>
    private void Backfill(DbConnection c)
    {
        while (true)
        {
            var rows = new List<TaskRow>();
            using (var cmd = c.CreateCommand())
            {
                cmd.CommandText = "SELECT uuid, data FROM am_tasks WHERE heap_clock IS NULL LIMIT 2000";
                foreach (var (uuid, data) in ReadPairs(cmd))
                    rows.Add(StoredRows.TaskRow(Celery.Durable.TaskRecord.FromRow(uuid, data)));
            }
            if (rows.Count == 0) return;
            using var tx = c.BeginTransaction();
            using var update = c.CreateCommand();
            update.Transaction = tx;
            update.CommandText = "UPDATE am_tasks SET runtime = @p12, heap_clock = @p13, heap_origin = @p14, args = @p15, kwargs = @p16, result = @p17, exception = @p18 WHERE uuid = @p0";
            var parameters = Enumerable.Range(0, TaskColumns.Length - 1).Where(k => k == 0 || k >= 12).ToDictionary(k => k, k =>
            {
                var p = update.CreateParameter();
                p.ParameterName = $"@p{k}";
                p.DbType = TaskColumnTypes[k];
                update.Parameters.Add(p);
                return p;
            });
            foreach (var row in rows)
            {
                var values = TaskValues(row);
                foreach (var (k, p) in parameters) p.Value = values[k] ?? DBNull.Value;
                update.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    public IDisposable StartupLock()
    {
        if (!_postgres) return new Unlock(null);
        var c = Open();
        Execute(c, null, "SELECT pg_advisory_lock(727274002)"); // a session lock: released on unlock or disconnect
        return new Unlock(c);
    }

    private sealed class Unlock(DbConnection? connection) : IDisposable
    {
        public void Dispose()
        {
            if (connection is null) return;
            try { Execute(connection, null, "SELECT pg_advisory_unlock(727274002)"); }
            finally { connection.Dispose(); }
        }
    }

    public void Commit(StoreCommit commit)
    {
        lock (_writeGate)
        {
            using var c = Open();
            var tx = c.BeginTransaction();
            try
            {
                Write(c, tx, commit);
            }
            catch
            {
                // On a full disk SQLite has rolled the transaction back itself: the rollback's own
                // "no transaction is active" must not replace the cause.
                try { tx.Rollback(); } catch (Exception ex) when (ex is DbException or InvalidOperationException) { }
                throw;
            }
            finally
            {
                tx.Dispose();
            }
            if (!_postgres && Environment.TickCount64 - _lastWalTruncate >= WalTruncateEvery.TotalMilliseconds)
            {
                _lastWalTruncate = Environment.TickCount64;
                // Readers in the middle of a snapshot keep what they read: the checkpoint then stops
                // short (busy) and the next one truncates.
                // The commit is durable already: a checkpoint that fails (a full disk) is tried again next time.
                try { Execute(c, null, "PRAGMA wal_checkpoint(TRUNCATE)"); }
                catch (DbException) { }
            }
        }
    }

    private void Write(DbConnection c, DbTransaction tx, StoreCommit commit)
    {
        // First, so that a fence waits for this commit, and this commit sees a fence already there.
        if (commit.Writer is { } writer && Count(c, tx, "UPDATE am_writers SET commits = commits + 1 WHERE incarnation = @i AND fenced_at IS NULL", ("@i", writer)) == 0)
            throw new WriterFencedException(writer, Scalar(c, tx, "SELECT fenced_by FROM am_writers WHERE incarnation = @i", ("@i", writer)) as string);
        var stored = ReadStored(c, tx, commit.Tasks, withTexts: !_postgres);
        var deltas = CountDeltas(stored, commit.Tasks);
        if (_postgres)
            for (var i = 0; i < commit.Tasks.Count; i += RowsPerStatement)
                UpsertTasks(c, tx, commit.Tasks, i, Math.Min(RowsPerStatement, commit.Tasks.Count - i));
        else
        {
            var reindex = UnindexChangedTexts(c, tx, commit.Tasks, stored);
            UpsertTasksOneByOne(c, tx, commit.Tasks);
            IndexTexts(c, tx, reindex);
        }
        foreach (var w in commit.Workers)
            Execute(c, tx, """
                INSERT INTO am_workers (hostname, event_count, data) VALUES (@h, @e, @d)
                ON CONFLICT (hostname) DO UPDATE SET event_count = excluded.event_count, data = excluded.data
                """, ("@h", w.Hostname), ("@e", w.EventCount), ("@d", w.Data));
        foreach (var t in commit.TaskTypes)
            Execute(c, tx, "INSERT INTO am_task_types (name) VALUES (@n) ON CONFLICT DO NOTHING", ("@n", t));
        // In key order: nodes committing at once lock the count rows in the same order.
        foreach (var ((state, name, worker), d) in deltas.Where(kv => kv.Value != 0).OrderBy(kv => kv.Key))
            Execute(c, tx, """
                INSERT INTO am_task_counts (state, name, worker, n) VALUES (@s, @n, @w, @d)
                ON CONFLICT (state, name, worker) DO UPDATE SET n = am_task_counts.n + excluded.n
                """, ("@s", state), ("@n", name), ("@w", worker), ("@d", d));
        foreach (var r in commit.Receivers)
            Execute(c, tx, """
                INSERT INTO am_receivers (node_name, messages, rejected_messages, other_events, cut, checkpoint) VALUES (@n, @m, @r, @o, @c, @d)
                ON CONFLICT (node_name) DO UPDATE SET messages = excluded.messages, rejected_messages = excluded.rejected_messages,
                  other_events = excluded.other_events, cut = excluded.cut, checkpoint = excluded.checkpoint
                """, ("@n", r.NodeName), ("@m", r.Messages), ("@r", r.RejectedMessages), ("@o", r.OtherEvents), ("@c", r.Cut), ("@d", r.Checkpoint));
        tx.Commit();
    }

    public void RegisterWriter(string incarnation, string address)
    {
        using var c = Open();
        Execute(c, null, "INSERT INTO am_writers (incarnation, address, registered, commits) VALUES (@i, @a, @t, 0) ON CONFLICT (incarnation) DO NOTHING",
            ("@i", incarnation), ("@a", address), ("@t", Now()));
    }

    public void Fence(string incarnation, string address, string fencedBy)
    {
        // The row lock taken by the writer's UPDATE in its commit makes this wait for that commit.
        using var c = Open();
        Execute(c, null, """
            INSERT INTO am_writers (incarnation, address, registered, commits, fenced_at, fenced_by) VALUES (@i, @a, @t, 0, @t, @b)
            ON CONFLICT (incarnation) DO UPDATE SET fenced_at = COALESCE(am_writers.fenced_at, excluded.fenced_at),
              fenced_by = COALESCE(am_writers.fenced_by, excluded.fenced_by)
            """, ("@i", incarnation), ("@a", address), ("@t", Now()), ("@b", fencedBy));
    }

    private static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    private static int Count(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) AddParameter(cmd, name, value);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) AddParameter(cmd, name, value);
        return cmd.ExecuteScalar() is var v && v is DBNull ? null : v;
    }

    /// <summary>What a task's row held before this commit: its count key, and its texts on SQLite.</summary>
    private sealed record StoredTask(bool Exists, (string State, string Name, string Worker) Key, string?[] Texts);

    /// <summary>
    /// The stored rows of the tasks a commit writes, read in its transaction (primary-key lookups),
    /// but for new tasks, which have none. Every task is written by the one entity that owns it,
    /// so no other commit moves it meanwhile.
    /// </summary>
    private static Dictionary<string, StoredTask> ReadStored(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows, bool withTexts)
    {
        var stored = new Dictionary<string, StoredTask>(rows.Count, StringComparer.Ordinal);
        foreach (var chunk in rows.Where(r => !r.New).Select(r => r.Uuid).Chunk(500))
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"SELECT uuid, event_count, state, name, worker{(withTexts ? ", " + TextColumns : "")} FROM am_tasks WHERE uuid IN ({Keys(cmd, chunk)})";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var texts = withTexts ? [Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8)] : Array.Empty<string?>();
                stored[r.GetString(0)] = new StoredTask(Convert.ToInt64(r.GetValue(1)) > 0, (Text(r, 2) ?? "", Text(r, 3) ?? "", Text(r, 4) ?? ""), texts);
            }
        }
        return stored;

        static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    }

    /// <summary>How the commit moves tasks between (state, name, worker) counts: each row's stored key out, its new key in.</summary>
    private static Dictionary<(string, string, string), long> CountDeltas(Dictionary<string, StoredTask> stored, IReadOnlyList<TaskRow> rows)
    {
        var deltas = new Dictionary<(string, string, string), long>();
        void Add((string, string, string) key, long d) => deltas[key] = deltas.GetValueOrDefault(key) + d;
        foreach (var row in rows)
        {
            if (stored.TryGetValue(row.Uuid, out var before) && before.Exists) Add(before.Key, -1);
            if (row.Exists) Add((row.State ?? "", row.Name ?? "", row.Worker ?? ""), 1);
        }
        return deltas;
    }

    /// <summary>
    /// The first half of keeping the trigram index in step with a commit's upserts: the texts of a
    /// stored task that change are taken out of the index before the upsert (FTS5 needs the old
    /// values, which the row holds until then). Returns the rows to index after the upsert: the
    /// changed ones, then the new ones in the order the upsert inserts them. Texts change rarely
    /// after a task is first written (args on task-received, a result or exception at the end),
    /// so most upserts leave the index alone.
    /// </summary>
    private static List<string> UnindexChangedTexts(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows, Dictionary<string, StoredTask> stored)
    {
        var changed = new List<string>();
        var fresh = new List<string>();
        foreach (var row in rows)
        {
            if (!stored.TryGetValue(row.Uuid, out var before)) fresh.Add(row.Uuid);
            else if (before.Texts[0] != row.Args || before.Texts[1] != row.Kwargs || before.Texts[2] != row.Result || before.Texts[3] != row.Exception)
                changed.Add(row.Uuid);
        }
        FeedTextIndex(c, tx, changed, $"INSERT INTO am_task_texts (am_task_texts, rowid, {TextColumns}) SELECT 'delete', rowid, {TextColumns} FROM am_tasks");
        return [.. changed, .. fresh];
    }

    /// <summary>
    /// The second half: indexes the given rows from the table, as the upsert left them. The
    /// changed rows come first (older rowids), then the new ones, whose rowids ascend in the order
    /// they were inserted.
    /// </summary>
    private static void IndexTexts(DbConnection c, DbTransaction tx, List<string> uuids) =>
        FeedTextIndex(c, tx, uuids, $"INSERT INTO am_task_texts (rowid, {TextColumns}) SELECT rowid, {TextColumns} FROM am_tasks");

    /// <summary>
    /// Runs <paramref name="insert"/>, an insert into the trigram index selecting from am_tasks,
    /// for the given tasks, 500 at a time, in rowid order: FTS5 writes its pending terms out as a
    /// new segment whenever a rowid is not above the last one, and fed in uuid order it wrote a
    /// segment every few rows, and merged them.
    /// </summary>
    private static void FeedTextIndex(DbConnection c, DbTransaction tx, List<string> uuids, string insert)
    {
        foreach (var chunk in uuids.Chunk(500))
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"{insert} WHERE uuid IN ({Keys(cmd, chunk)}) ORDER BY rowid";
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Binds a chunk of keys as @k0, @k1, ... and returns the list of their names for an IN.</summary>
    private static string Keys(DbCommand cmd, IReadOnlyList<string> keys)
    {
        var names = new string[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            names[i] = "@k" + i;
            AddParameter(cmd, names[i], keys[i]);
        }
        return string.Join(", ", names);
    }

    // SQLite: one prepared single-row statement, re-bound per row (no round trips to save, and
    // binding thousands of named parameters of one big statement costs more than it saves).
    private static void UpsertTasksOneByOne(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows)
    {
        if (rows.Count == 0) return;
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = new StringBuilder("INSERT INTO am_tasks (").AppendJoin(", ", TaskColumns).Append(") VALUES (")
            .AppendJoin(", ", TaskColumns.Select((_, k) => $"@p{k}")).Append(") ON CONFLICT (uuid) DO UPDATE SET ")
            .AppendJoin(", ", TaskColumns.Skip(1).Select(col => $"{col} = excluded.{col}")).ToString();
        var parameters = new DbParameter[TaskColumns.Length];
        for (var k = 0; k < parameters.Length; k++)
        {
            parameters[k] = cmd.CreateParameter();
            parameters[k].ParameterName = $"@p{k}";
            parameters[k].DbType = TaskColumnTypes[k];
            cmd.Parameters.Add(parameters[k]);
        }
        cmd.Prepare();
        foreach (var r in rows)
        {
            var values = TaskValues(r);
            for (var k = 0; k < values.Length; k++) parameters[k].Value = values[k] ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
    }

    private static void UpsertTasks(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows, int start, int count)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        var sql = new StringBuilder("INSERT INTO am_tasks (").AppendJoin(", ", TaskColumns).Append(") VALUES ");
        for (var i = 0; i < count; i++)
        {
            var r = rows[start + i];
            if (i > 0) sql.Append(", ");
            sql.Append('(');
            var values = TaskValues(r);
            for (var k = 0; k < values.Length; k++)
            {
                var name = $"@p{i}_{k}";
                if (k > 0) sql.Append(", ");
                sql.Append(name);
                AddParameter(cmd, name, values[k], TaskColumnTypes[k]);
            }
            sql.Append(')');
        }
        sql.Append(" ON CONFLICT (uuid) DO UPDATE SET ")
            .AppendJoin(", ", TaskColumns.Skip(1).Select(col => $"{col} = excluded.{col}"));
        cmd.CommandText = sql.ToString();
        cmd.ExecuteNonQuery();
    }

    public IReadOnlyDictionary<string, byte[]> LoadTasks(IReadOnlyCollection<string> uuids) => Load("am_tasks", "uuid", uuids);

    public IReadOnlyDictionary<string, byte[]> LoadWorkers(IReadOnlyCollection<string> hostnames) => Load("am_workers", "hostname", hostnames);

    private Dictionary<string, byte[]> Load(string table, string key, IReadOnlyCollection<string> ids)
    {
        var found = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var c = Open();
        foreach (var chunk in ids.Distinct().Chunk(500))
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"SELECT {key}, data FROM {table} WHERE {key} IN ({Keys(cmd, chunk)})";
            using var reader = cmd.ExecuteReader();
            while (reader.Read()) found[reader.GetString(0)] = (byte[])reader.GetValue(1);
        }
        return found;
    }

    public StoredTotals ReadTotals()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(SUM(event_count), 0), COALESCE(SUM(received_count), 0), COALESCE(MAX(last_seq), 0) FROM am_tasks";
        long taskEvents, taskCount, maxSeq;
        using (var r = cmd.ExecuteReader())
        {
            r.Read();
            taskEvents = Convert.ToInt64(r.GetValue(0));
            taskCount = Convert.ToInt64(r.GetValue(1));
            maxSeq = Convert.ToInt64(r.GetValue(2));
        }
        cmd.CommandText = "SELECT COALESCE(SUM(event_count), 0) FROM am_workers";
        var workerEvents = Convert.ToInt64(cmd.ExecuteScalar());
        cmd.CommandText = "SELECT name FROM am_task_types ORDER BY name";
        var types = new List<string>();
        using (var r = cmd.ExecuteReader())
            while (r.Read()) types.Add(r.GetString(0));
        cmd.CommandText = "SELECT COALESCE(SUM(messages), 0), COALESCE(SUM(rejected_messages), 0), COALESCE(SUM(other_events), 0) FROM am_receivers";
        using (var r = cmd.ExecuteReader())
        {
            r.Read();
            return new StoredTotals(taskEvents, taskCount, workerEvents, maxSeq, types)
            {
                Messages = Convert.ToInt64(r.GetValue(0)),
                RejectedMessages = Convert.ToInt64(r.GetValue(1)),
                OtherEvents = Convert.ToInt64(r.GetValue(2)),
            };
        }
    }

    public IReadOnlyList<KeyValuePair<string, byte[]>> LatestTasks(int count)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT uuid, data FROM am_tasks ORDER BY last_seq DESC LIMIT @n";
        AddParameter(cmd, "@n", count);
        return ReadPairs(cmd).ToList();
    }

    public IReadOnlyList<ReceiverRow> Receivers() => ReadReceivers(settled: false);

    public IReadOnlyList<ReceiverRow> SettledReceivers() => ReadReceivers(settled: true);

    private IReadOnlyList<ReceiverRow> ReadReceivers(bool settled)
    {
        using var c = Open();
        // A commit holds its writer's row from its first statement on: sharing every writer row
        // waits until those in flight ended (SQLite's single writer needs no such wait).
        using var tx = settled && _postgres ? c.BeginTransaction() : null;
        if (tx is not null) Execute(c, tx, "SET LOCAL lock_timeout = '30s'; SELECT 1 FROM am_writers FOR SHARE");
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT node_name, messages, rejected_messages, other_events, cut, checkpoint FROM am_receivers";
        using var r = cmd.ExecuteReader();
        var rows = new List<ReceiverRow>();
        while (r.Read())
            rows.Add(new ReceiverRow(r.GetString(0), Convert.ToInt64(r.GetValue(1)), Convert.ToInt64(r.GetValue(2)), Convert.ToInt64(r.GetValue(3)),
                Convert.ToInt64(r.GetValue(4)), (byte[])r.GetValue(5)));
        return rows;
    }

    // Byte order in both databases: ordinal order for the ASCII of Celery's uuids.
    public IEnumerable<KeyValuePair<string, byte[]>> AllTasks() =>
        Stream(_postgres ? "SELECT uuid, data FROM am_tasks ORDER BY uuid COLLATE \"C\"" : "SELECT uuid, data FROM am_tasks ORDER BY uuid");

    public IEnumerable<KeyValuePair<string, byte[]>> AllWorkers() => Stream("SELECT hostname, data FROM am_workers");

    // The keys alone: counting a million rows per shard must not read a million blobs.
    public IEnumerable<string> TaskIds() => Keys("SELECT uuid FROM am_tasks");

    public IEnumerable<string> WorkerIds() => Keys("SELECT hostname FROM am_workers");

    private IEnumerable<string> Keys(string sql)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return r.GetString(0);
    }

    private IEnumerable<KeyValuePair<string, byte[]>> Stream(string sql)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var pair in ReadPairs(cmd)) yield return pair;
    }

    private static IEnumerable<KeyValuePair<string, byte[]>> ReadPairs(DbCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return KeyValuePair.Create(r.GetString(0), (byte[])r.GetValue(1));
    }

    public TaskPage QueryTasks(TaskQuery query)
    {
        var sql = new TaskQuerySql(query, _postgres);
        using var c = Open();
        // One snapshot for the total and the page (a checkpoint may commit between the two reads).
        using var tx = BeginRead(c);
        long total;
        if (sql.KeyOnly) total = ReadCounts(c, tx, sql).Total;
        else
        {
            using var count = c.CreateCommand();
            count.Transaction = tx;
            // A search alone is counted in the trigram index (a row without events has no texts to match).
            count.CommandText = sql.SearchOnly
                ? $"SELECT COUNT(*) FROM am_task_texts WHERE am_task_texts MATCH {sql.FtsPhraseParam}"
                : $"SELECT COUNT(*) FROM am_tasks {(sql.FtsPhrase is null ? sql.IndexHint(long.MaxValue) : "NOT INDEXED")} {sql.Where}";
            sql.Bind(count);
            total = Convert.ToInt64(count.ExecuteScalar());
        }
        var tasks = new List<TaskSnapshot>(Math.Min(query.Limit, 1000));
        if (total > query.Offset)
        {
            using var page = c.CreateCommand();
            page.Transaction = tx;
            page.CommandText = $"SELECT uuid, data FROM am_tasks {sql.IndexHint(total)} {sql.Where} {sql.OrderBy} LIMIT {query.Limit} OFFSET {query.Offset}";
            sql.Bind(page);
            foreach (var (uuid, data) in ReadPairs(page)) tasks.Add(TaskRecord.FromRow(uuid, data).State.ToSnapshot());
        }
        tx.Commit();
        return new TaskPage(total, query.Limit, query.Offset, tasks);
    }

    public TaskCounts CountTasks(TaskQuery filter)
    {
        var sql = new TaskQuerySql(filter, _postgres);
        using var c = Open();
        using var tx = BeginRead(c);
        if (sql.KeyOnly)
        {
            var counts = ReadCounts(c, tx, sql);
            tx.Commit();
            return counts;
        }
        Dictionary<string, long> Group(string column, out long total)
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"SELECT {column}, COUNT(*) FROM am_tasks {sql.GroupHint} {sql.Where} GROUP BY {column}";
            sql.Bind(cmd);
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            total = 0;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var n = Convert.ToInt64(r.GetValue(1));
                total += n;
                if (!r.IsDBNull(0)) counts[r.GetString(0)] = n;
            }
            return counts;
        }
        var byState = Group("state", out var all);
        var byName = Group("name", out _);
        var byWorker = Group("worker", out _);
        tx.Commit();
        return new TaskCounts(all, Sorted(byState), Sorted(byName), Sorted(byWorker));
    }

    /// <summary>The counts of a state/name/worker filter, from am_task_counts (kept with the rows).</summary>
    private static TaskCounts ReadCounts(DbConnection c, DbTransaction tx, TaskQuerySql sql)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT state, name, worker, n FROM am_task_counts " + sql.CountsWhere;
        sql.Bind(cmd);
        var byState = new Dictionary<string, long>(StringComparer.Ordinal);
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        var byWorker = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var n = Convert.ToInt64(r.GetValue(3));
            total += n;
            foreach (var (d, i) in new[] { (byState, 0), (byName, 1), (byWorker, 2) })
                if (r.GetString(i) is { Length: > 0 } key) d[key] = d.GetValueOrDefault(key) + n;
        }
        return new TaskCounts(total, Sorted(byState), Sorted(byName), Sorted(byWorker));
    }

    private static SortedDictionary<string, long> Sorted(Dictionary<string, long> d) => new(d, StringComparer.Ordinal);

    public bool HasState(string state)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM am_tasks WHERE event_count > 0 AND state = @s LIMIT 1";
        AddParameter(cmd, "@s", state);
        return cmd.ExecuteScalar() is not null;
    }

    public IReadOnlyList<string> TaskTypes()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name FROM am_task_types";
        var names = new List<string>();
        using (var r = cmd.ExecuteReader())
            while (r.Read()) names.Add(r.GetString(0));
        names.Sort(StringComparer.Ordinal); // Celery's sorted(): code point order
        return names;
    }

    // A reader's transaction: SQLite's deferred BEGIN takes no write lock (the keeper keeps
    // committing); PostgreSQL's repeatable read gives both statements one snapshot.
    private DbTransaction BeginRead(DbConnection c) =>
        _postgres ? c.BeginTransaction(IsolationLevel.RepeatableRead) : ((SqliteConnection)c).BeginTransaction(deferred: true);

    private static void Execute(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters) =>
        Count(c, tx, sql, parameters);

    private static void AddParameter(DbCommand cmd, string name, object? value, DbType nullType = DbType.String)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        if (value is null) p.DbType = nullType;
        cmd.Parameters.Add(p);
    }

    public void Dispose()
    {
        if (!_postgres) SqliteConnection.ClearAllPools();
    }
}
