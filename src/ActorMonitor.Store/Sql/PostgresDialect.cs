using System.Data;
using System.Data.Common;
using Npgsql;
using static ActorMonitor.Store.Sql.SqlCommands;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// PostgreSQL: several nodes write at once, so schema changes and Akka.Persistence.Sql's start
/// take advisory locks, and a settled read waits for the commits in flight. Task rows go in
/// one upsert of column arrays per commit; the planner picks its indexes itself.
/// </summary>
internal sealed class PostgresDialect(StoreTarget target) : ISqlDialect
{
    public DbConnection Open()
    {
        var c = new NpgsqlConnection(target.ConnectionString);
        c.Open();
        return c;
    }

    public string BigInt => "BIGINT";
    public string Real => "DOUBLE PRECISION";
    public string Blob => "BYTEA";

    // Byte order: ordinal order for the ASCII of Celery's uuids, and Celery's sorted() for names.
    public string Ordinal => " COLLATE \"C\"";

    // PostgreSQL sorts missing values last ascending and first descending.
    public string NullsLowest(bool descending) => descending ? " NULLS LAST" : " NULLS FIRST";

    public string Instr(string haystack, string needle) => $"strpos({haystack}, {needle})";
    public string Trim => "btrim";

    public void PrepareDatabase() { }

    // Several nodes starting together would race on CREATE TABLE IF NOT EXISTS.
    public void LockSchema(DbConnection c, DbTransaction tx) => Execute(c, tx, "SELECT pg_advisory_xact_lock(727274001)");

    public IDisposable StartupLock()
    {
        var c = Open();
        Execute(c, null, "SELECT pg_advisory_lock(727274002)"); // a session lock: released on unlock or disconnect
        return new Unlock(c);
    }

    private sealed class Unlock(DbConnection connection) : IDisposable
    {
        public void Dispose()
        {
            try { Execute(connection, null, "SELECT pg_advisory_unlock(727274002)"); }
            finally { connection.Dispose(); }
        }
    }

    // Repeatable read gives the statements of a read one snapshot.
    public DbTransaction BeginRead(DbConnection c) => c.BeginTransaction(IsolationLevel.RepeatableRead);

    public DbTransaction? BeginSettled(DbConnection c)
    {
        // A commit holds its writer's row from its first statement on: sharing every writer row
        // waits until those in flight ended.
        var tx = c.BeginTransaction();
        Execute(c, tx, "SET LOCAL lock_timeout = '30s'; SELECT 1 FROM am_writers FOR SHARE");
        return tx;
    }

    public void AddColumn(DbConnection c, DbTransaction tx, string table, string column, string type) =>
        Execute(c, tx, $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {type}");

    public bool HasTextIndex => false;

    public bool TableExists(DbConnection c, DbTransaction tx, string table) =>
        Scalar(c, tx, "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = @n", ("@n", table)) is not null;

    public void DropRetired(DbConnection c, DbTransaction tx) { }

    public bool CreateTextIndex(DbConnection c, DbTransaction tx) => false;

    public void FillTextIndex(DbConnection c) { }

    public void WriteTasks(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows, IReadOnlyDictionary<string, StoredTask> stored)
    {
        if (rows.Count == 0) return;
        using var cmd = new NpgsqlCommand(UpsertColumns, (NpgsqlConnection)c, (NpgsqlTransaction)tx);
        foreach (var values in Columns) cmd.Parameters.Add(new NpgsqlParameter { Value = values(rows) });
        cmd.ExecuteNonQuery();
    }

    // Every row in one statement of column arrays: a parameter per column, not one per value, and
    // the same SQL text each time (positional parameters: Npgsql sends it without rewriting it).
    // In TaskColumns.Names' order; their types are TaskColumns.Types'.
    private static readonly Func<IReadOnlyList<TaskRow>, object>[] Columns =
    [
        rows => Column(rows, r => r.Uuid),
        rows => Column(rows, r => r.LastSeq),
        rows => Column(rows, r => r.EventCount),
        rows => Column(rows, r => r.ReceivedCount),
        rows => Column(rows, r => r.Name),
        rows => Column(rows, r => r.State),
        rows => Column(rows, r => r.Worker),
        rows => Column(rows, r => r.Received),
        rows => Column(rows, r => r.Started),
        rows => Column(rows, r => r.Succeeded),
        rows => Column(rows, r => r.Failed),
        rows => Column(rows, r => r.Timestamp),
        rows => Column(rows, r => r.Runtime),
        rows => Column(rows, r => r.HeapClock),
        rows => Column(rows, r => r.HeapOrigin),
        rows => Column(rows, r => r.Args),
        rows => Column(rows, r => r.Kwargs),
        rows => Column(rows, r => r.Result),
        rows => Column(rows, r => r.Exception),
        rows => Column(rows, r => r.Data),
    ];

    private static readonly string UpsertColumns = Columns.Length != TaskColumns.Names.Length
        ? throw new InvalidOperationException("PostgresDialect.Columns does not list every column of TaskColumns.Names")
        : $"INSERT INTO am_tasks ({string.Join(", ", TaskColumns.Names)}) SELECT * FROM unnest("
          + string.Join(", ", TaskColumns.Types.Select((type, k) => $"${k + 1}::{ArrayOf(type)}"))
          + ") " + TaskColumns.UpdateOnConflict;

    private static string ArrayOf(DbType type) => type switch
    {
        DbType.String => "text[]",
        DbType.Int64 => "bigint[]",
        DbType.Double => "double precision[]",
        DbType.Binary => "bytea[]",
        _ => throw new InvalidOperationException($"no PostgreSQL array type for a task column of {type}"),
    };

    private static T[] Column<T>(IReadOnlyList<TaskRow> rows, Func<TaskRow, T> value)
    {
        var values = new T[rows.Count];
        for (var i = 0; i < values.Length; i++) values[i] = value(rows[i]);
        return values;
    }

    public void AfterCommit(DbConnection c) { }

    public string IndexHint(TaskQuerySql sql, long matches) => "";

    public void Dispose() { }
}
