using System.Data;
using System.Data.Common;

namespace ActorMonitor.Store.Sql;

/// <summary>The few ADO.NET steps every statement of the store takes, for both databases.</summary>
internal static class SqlCommands
{
    public static void Execute(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters) =>
        Count(c, tx, sql, parameters);

    /// <summary>Runs <paramref name="sql"/> and returns how many rows it changed.</summary>
    public static int Count(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) AddParameter(cmd, name, value);
        return cmd.ExecuteNonQuery();
    }

    public static object? Scalar(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) AddParameter(cmd, name, value);
        return cmd.ExecuteScalar() is var v && v is DBNull ? null : v;
    }

    public static void AddParameter(DbCommand cmd, string name, object? value, DbType nullType = DbType.String)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        if (value is null) p.DbType = nullType;
        cmd.Parameters.Add(p);
    }

    /// <summary>Binds a chunk of keys as @k0, @k1, ... and returns the list of their names for an IN.</summary>
    public static string Keys(DbCommand cmd, IReadOnlyList<string> keys)
    {
        var names = new string[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            names[i] = "@k" + i;
            AddParameter(cmd, names[i], keys[i]);
        }
        return string.Join(", ", names);
    }

    public static IEnumerable<KeyValuePair<string, byte[]>> ReadPairs(DbCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return KeyValuePair.Create(r.GetString(0), (byte[])r.GetValue(1));
    }
}
