using System.Data.Common;
using ActorMonitor.Store.Queries;
using static ActorMonitor.Store.Sql.SqlCommands;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// Task and worker rows in SQLite (WAL) or PostgreSQL, written by upserts in one transaction per
/// checkpoint. The same SQL serves both (INSERT ... ON CONFLICT DO UPDATE); what differs is the
/// <see cref="ISqlDialect"/>'s (<see cref="SqliteDialect"/>, <see cref="PostgresDialect"/>).
/// </summary>
public sealed class SqlStateStore : IStateStore
{
    private readonly ISqlDialect _dialect;
    private readonly SqliteDialect? _sqlite;
    private readonly TaskPages _reads;
    private readonly object _writeGate = new();

    public SqlStateStore(StoreTarget target)
    {
        _dialect = target.Kind switch
        {
            StoreKind.Sqlite => _sqlite = new SqliteDialect(target),
            StoreKind.Postgres => new PostgresDialect(target),
            _ => throw new ArgumentException("a SQL store needs sqlite: or postgres:", nameof(target)),
        };
        Target = target;
        _reads = new TaskPages(_dialect);
    }

    public StoreTarget Target { get; }

    /// <summary>
    /// SQLite only: a cap on the file's pages (SQLite's max_page_count); a write beyond it fails as
    /// on a full disk. Null: SQLite's own limit.
    /// </summary>
    public long? MaxPages
    {
        get => _sqlite?.MaxPages;
        set
        {
            if (_sqlite is not null) _sqlite.MaxPages = value;
        }
    }

    /// <summary>SQLite only: how often a commit also checkpoints the WAL into the file and truncates it.</summary>
    public TimeSpan WalTruncateEvery
    {
        get => _sqlite?.WalTruncateEvery ?? TimeSpan.Zero;
        set
        {
            if (_sqlite is not null) _sqlite.WalTruncateEvery = value;
        }
    }

    private DbConnection Open() => _dialect.Open();

    /// <summary>Applies the schema's migrations the journal has not had (<see cref="Schema"/>).</summary>
    public void Initialize() => Schema.Migrate(_dialect);

    internal ISqlDialect Dialect => _dialect;

    public IDisposable StartupLock() => _dialect.StartupLock();

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
            _dialect.AfterCommit(c);
        }
    }

    private void Write(DbConnection c, DbTransaction tx, StoreCommit commit)
    {
        // First, so that a fence waits for this commit, and this commit sees a fence already there.
        if (commit.Writer is { } writer && Count(c, tx, "UPDATE am_writers SET commits = commits + 1 WHERE incarnation = @i AND fenced_at IS NULL", ("@i", writer)) == 0)
            throw new WriterFencedException(writer, Scalar(c, tx, "SELECT fenced_by FROM am_writers WHERE incarnation = @i", ("@i", writer)) as string);
        var stored = ReadStored(c, tx, commit.Tasks, withTexts: _dialect.HasTextIndex);
        var deltas = CountDeltas(stored, commit.Tasks);
        _dialect.WriteTasks(c, tx, commit.Tasks, stored);
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
            cmd.CommandText = $"SELECT uuid, event_count, state, name, worker{(withTexts ? ", " + TaskColumns.Texts : "")} FROM am_tasks WHERE uuid IN ({Keys(cmd, chunk)})";
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
        using var tx = settled ? _dialect.BeginSettled(c) : null;
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
    public IEnumerable<KeyValuePair<string, byte[]>> AllTasks() => Stream("SELECT uuid, data FROM am_tasks ORDER BY uuid" + _dialect.Ordinal);

    public IEnumerable<KeyValuePair<string, byte[]>> AllWorkers() => Stream("SELECT hostname, data FROM am_workers");

    // The keys alone: counting a million rows per shard must not read a million blobs.
    public IEnumerable<string> TaskIds() => ReadKeys("SELECT uuid FROM am_tasks");

    public IEnumerable<string> WorkerIds() => ReadKeys("SELECT hostname FROM am_workers");

    private IEnumerable<string> ReadKeys(string sql)
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

    public TaskPage QueryTasks(TaskQuery query) => _reads.Page(query);

    public TaskCounts CountTasks(TaskQuery filter) => _reads.Counts(filter);

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

    public void Dispose() => _dialect.Dispose();
}
