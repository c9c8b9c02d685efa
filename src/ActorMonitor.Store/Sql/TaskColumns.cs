using System.Data;
using System.Data.Common;
using System.Text;
using static ActorMonitor.Store.Sql.SqlCommands;

namespace ActorMonitor.Store.Sql;

/// <summary>The columns of a task's row in am_tasks, their types and values, and its upserts.</summary>
internal static class TaskColumns
{
    public static readonly string[] Names =
    [
        "uuid", "last_seq", "event_count", "received_count", "name", "state", "worker", "received", "started", "succeeded", "failed", "timestamp",
        "runtime", "heap_clock", "heap_origin", "args", "kwargs", "result", "exception", "data",
    ];

    // A null parameter needs its column's type (PostgreSQL does not cast text to double precision).
    public static readonly DbType[] Types =
    [
        DbType.String, DbType.Int64, DbType.Int64, DbType.Int64, DbType.String, DbType.String, DbType.String,
        DbType.Double, DbType.Double, DbType.Double, DbType.Double, DbType.Double,
        DbType.Double, DbType.Int64, DbType.String, DbType.String, DbType.String, DbType.String, DbType.String, DbType.Binary,
    ];

    public static object?[] Values(TaskRow r) =>
    [
        r.Uuid, r.LastSeq, r.EventCount, r.ReceivedCount, r.Name, r.State, r.Worker, r.Received, r.Started, r.Succeeded, r.Failed, r.Timestamp,
        r.Runtime, r.HeapClock, r.HeapOrigin, r.Args, r.Kwargs, r.Result, r.Exception, r.Data,
    ];

    /// <summary>An upsert's end: a task already stored takes every column of the new row.</summary>
    public static readonly string UpdateOnConflict =
        "ON CONFLICT (uuid) DO UPDATE SET " + string.Join(", ", Names.Skip(1).Select(col => $"{col} = excluded.{col}"));

    /// <summary>The four texts a search looks in.</summary>
    public const string Texts = "args, kwargs, result, exception";

    /// <summary>One prepared single-row upsert, re-bound per row.</summary>
    public static void UpsertOneByOne(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows)
    {
        if (rows.Count == 0) return;
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = new StringBuilder("INSERT INTO am_tasks (").AppendJoin(", ", Names).Append(") VALUES (")
            .AppendJoin(", ", Names.Select((_, k) => $"@p{k}")).Append(") ").Append(UpdateOnConflict).ToString();
        var parameters = new DbParameter[Names.Length];
        for (var k = 0; k < parameters.Length; k++)
        {
            parameters[k] = cmd.CreateParameter();
            parameters[k].ParameterName = $"@p{k}";
            parameters[k].DbType = Types[k];
            cmd.Parameters.Add(parameters[k]);
        }
        cmd.Prepare();
        foreach (var r in rows)
        {
            var values = Values(r);
            for (var k = 0; k < values.Length; k++) parameters[k].Value = values[k] ?? DBNull.Value;
            cmd.ExecuteNonQuery();
        }
    }
}
