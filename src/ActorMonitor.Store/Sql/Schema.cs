using System.Data.Common;
using static ActorMonitor.Store.Sql.SqlCommands;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// The journal's tables as numbered migrations, applied in order; am_schema_versions records each
/// one applied. A journal written before that table existed is recognised once (it has am_tasks
/// and no versions): it is brought to <see cref="Unversioned"/> the way the code of that time
/// upgraded a journal in place, that version is recorded, and from then on only the migrations
/// above it run. A new migration goes at the end of <see cref="Migrations"/> with the next number.
/// </summary>
internal static class Schema
{
    /// <summary>One migration's work, in the transaction that records it.</summary>
    internal sealed class Step(DbConnection connection, DbTransaction transaction, ISqlDialect dialect)
    {
        public DbConnection C { get; } = connection;
        public DbTransaction Tx { get; } = transaction;
        public ISqlDialect Dialect { get; } = dialect;

        /// <summary>Set by a step that created the text index over rows it holds already: indexed once the transaction committed.</summary>
        public bool FillTextIndex { get; set; }

        public void Execute(string sql) => SqlCommands.Execute(C, Tx, sql);
    }

    internal sealed record Migration(int Version, string Name, Action<Step> Apply);

    /// <summary>
    /// Every migration, in order. Those up to <see cref="Unversioned"/> also run over a journal
    /// written before the version table, so they create only what is missing (IF NOT EXISTS).
    /// </summary>
    public static readonly IReadOnlyList<Migration> Migrations =
    [
        new(1, "task, worker and task type rows", s => s.Execute($"""
            CREATE TABLE IF NOT EXISTS am_tasks (
              uuid TEXT PRIMARY KEY, last_seq {s.Dialect.BigInt} NOT NULL, event_count {s.Dialect.BigInt} NOT NULL, received_count {s.Dialect.BigInt} NOT NULL,
              name TEXT, state TEXT, worker TEXT, received {s.Dialect.Real}, started {s.Dialect.Real}, succeeded {s.Dialect.Real}, failed {s.Dialect.Real}, timestamp {s.Dialect.Real},
              runtime {s.Dialect.Real}, heap_clock {s.Dialect.BigInt}, heap_origin TEXT, args TEXT, kwargs TEXT, result TEXT, exception TEXT,
              data {s.Dialect.Blob} NOT NULL);
            CREATE INDEX IF NOT EXISTS am_tasks_last_seq ON am_tasks (last_seq);
            CREATE TABLE IF NOT EXISTS am_workers (hostname TEXT PRIMARY KEY, event_count {s.Dialect.BigInt} NOT NULL, data {s.Dialect.Blob} NOT NULL);
            CREATE TABLE IF NOT EXISTS am_task_types (name TEXT PRIMARY KEY);
            """)),
        new(2, "task counts by state, name and worker", s =>
        {
            s.Execute($"""
                CREATE TABLE IF NOT EXISTS am_task_counts (state TEXT NOT NULL, name TEXT NOT NULL, worker TEXT NOT NULL, n {s.Dialect.BigInt} NOT NULL,
                  PRIMARY KEY (state, name, worker));
                """);
            // Tasks stored before the counts existed are counted once, from their rows.
            s.Execute("""
                INSERT INTO am_task_counts (state, name, worker, n)
                SELECT COALESCE(state, ''), COALESCE(name, ''), COALESCE(worker, ''), COUNT(*) FROM am_tasks
                WHERE event_count > 0 AND NOT EXISTS (SELECT 1 FROM am_task_counts) GROUP BY 1, 2, 3
                """);
        }),
        new(3, "writers (fencing) and receivers' checkpoints", s => s.Execute($"""
            CREATE TABLE IF NOT EXISTS am_writers (
              incarnation TEXT PRIMARY KEY, address TEXT NOT NULL, registered {s.Dialect.Real} NOT NULL, commits {s.Dialect.BigInt} NOT NULL,
              fenced_at {s.Dialect.Real}, fenced_by TEXT);
            CREATE TABLE IF NOT EXISTS am_receivers (
              node_name TEXT PRIMARY KEY, messages {s.Dialect.BigInt} NOT NULL, rejected_messages {s.Dialect.BigInt} NOT NULL, other_events {s.Dialect.BigInt} NOT NULL,
              cut {s.Dialect.BigInt} NOT NULL, checkpoint {s.Dialect.Blob} NOT NULL);
            """)),
        new(4, "the read side's indexes", s => s.Execute(QueryIndexes(s.Dialect))),
        new(5, "the text index of the task texts (SQLite)", s => s.FillTextIndex |= s.Dialect.CreateTextIndex(s.C, s.Tx)),
    ];

    /// <summary>The version of every journal written before am_schema_versions, once <see cref="AdoptUnversioned"/> brought it there.</summary>
    public const int Unversioned = 5;

    /// <summary>Applies the migrations the journal has not had, in one transaction under the schema lock.</summary>
    public static void Migrate(ISqlDialect dialect, IReadOnlyList<Migration>? migrations = null)
    {
        migrations ??= Migrations;
        dialect.PrepareDatabase();
        using var c = dialect.Open();
        bool adopted;
        Step step;
        using (var tx = c.BeginTransaction())
        {
            dialect.LockSchema(c, tx);
            step = new Step(c, tx, dialect);
            var versioned = dialect.TableExists(c, tx, "am_schema_versions");
            adopted = !versioned && dialect.TableExists(c, tx, "am_tasks");
            var done = new List<(Migration, string How)>();
            if (adopted) done.AddRange(AdoptUnversioned(step, migrations).Select(m => (m, "found")));
            var current = versioned ? Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) FROM am_schema_versions"))
                : adopted ? Unversioned : 0;
            var known = migrations.Count == 0 ? 0 : migrations.Max(m => m.Version);
            if (current > known) throw new JournalVersionException(current, known);
            foreach (var m in migrations.Where(m => m.Version > current).OrderBy(m => m.Version))
            {
                m.Apply(step);
                done.Add((m, "applied"));
            }
            // Created after the tables, so that a new journal's file lays them out where it always did.
            if (!versioned)
                step.Execute($"CREATE TABLE am_schema_versions (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied {dialect.Real} NOT NULL, how TEXT NOT NULL)");
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
            foreach (var (m, how) in done)
                SqlCommands.Execute(c, tx, "INSERT INTO am_schema_versions (version, name, applied, how) VALUES (@v, @n, @t, @h)",
                    ("@v", m.Version), ("@n", m.Name), ("@t", now), ("@h", how));
            tx.Commit();
        }
        // Rows of a journal written before the query columns get them, filled from their data.
        if (adopted) Backfill(c);
        if (step.FillTextIndex) dialect.FillTextIndex(c);
    }

    /// <summary>
    /// A journal written before the version table, by any earlier version: what those versions
    /// did at every start (columns added when missing, retired indexes dropped), then the
    /// migrations up to <see cref="Unversioned"/>, which create what is still missing. Returns them, to be recorded as found.
    /// </summary>
    private static List<Migration> AdoptUnversioned(Step s, IReadOnlyList<Migration> migrations)
    {
        // A journal written before the query side: its task rows get the new columns, filled after.
        foreach (var (name, type) in QueryColumns) s.Dialect.AddColumn(s.C, s.Tx, "am_tasks", name, type(s.Dialect));
        s.Dialect.DropRetired(s.C, s.Tx);
        var found = migrations.Where(m => m.Version <= Unversioned).OrderBy(m => m.Version).ToList();
        foreach (var m in found) m.Apply(s);
        return found;
    }

    /// <summary>The versions a journal has, in order, and how each came (applied, or found in a journal written before versions).</summary>
    public static IReadOnlyList<(int Version, string How)> Versions(ISqlDialect dialect)
    {
        using var c = dialect.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT version, how FROM am_schema_versions ORDER BY version";
        using var r = cmd.ExecuteReader();
        var versions = new List<(int, string)>();
        while (r.Read()) versions.Add((Convert.ToInt32(r.GetValue(0)), r.GetString(1)));
        return versions;
    }

    /// <summary>Columns the query side added to am_tasks, with their types, for journals created before them.</summary>
    private static readonly (string Name, Func<ISqlDialect, string> Type)[] QueryColumns =
    [
        ("runtime", d => d.Real), ("heap_clock", d => d.BigInt), ("heap_origin", _ => "TEXT"),
        ("args", _ => "TEXT"), ("kwargs", _ => "TEXT"), ("result", _ => "TEXT"), ("exception", _ => "TEXT"),
    ];

    /// <summary>
    /// The read side's indexes: each filter column with received (the default sort) after it, each
    /// time field, and Celery's heap order. Partial (tasks that exist, the condition every query
    /// carries), so counts are answered from the index alone. Missing values sort first in both
    /// databases, so that one index serves both directions.
    /// </summary>
    private static string QueryIndexes(ISqlDialect dialect)
    {
        string Asc(string col) => col + dialect.NullsLowest(descending: false);
        var c = dialect.Ordinal;
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

    /// <summary>Fills the query columns of rows written before they existed, a batch at a time (any node may do it; it is idempotent).</summary>
    private static void Backfill(DbConnection c)
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
            var parameters = Enumerable.Range(0, TaskColumns.Names.Length - 1).Where(k => k == 0 || k >= 12).ToDictionary(k => k, k =>
            {
                var p = update.CreateParameter();
                p.ParameterName = $"@p{k}";
                p.DbType = TaskColumns.Types[k];
                update.Parameters.Add(p);
                return p;
            });
            foreach (var row in rows)
            {
                var values = TaskColumns.Values(row);
                foreach (var (k, p) in parameters) p.Value = values[k] ?? DBNull.Value;
                update.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }
}

/// <summary>A journal written by a newer ActorMonitor, whose schema this one does not know.</summary>
public sealed class JournalVersionException(int version, int known)
    : Exception($"its schema is at version {version}, written by a newer ActorMonitor; this one knows versions up to {known}")
{
    public int Version { get; } = version;
}
