using System.Data.Common;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.State;
using ActorMonitor.Store.Queries;
using static ActorMonitor.Store.Sql.SqlCommands;

namespace ActorMonitor.Store.Sql;

/// <summary>The read side of <see cref="SqlStateStore"/>: a page of tasks a <see cref="TaskQuery"/> selects, and its counts.</summary>
internal sealed class TaskPages(ISqlDialect dialect)
{
    public TaskPage Page(TaskQuery query)
    {
        var sql = new TaskQuerySql(query, dialect);
        using var c = dialect.Open();
        // One snapshot for the total and the page (a checkpoint may commit between the two reads).
        using var tx = dialect.BeginRead(c);
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

    public TaskCounts Counts(TaskQuery filter)
    {
        var sql = new TaskQuerySql(filter, dialect);
        using var c = dialect.Open();
        using var tx = dialect.BeginRead(c);
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
}
