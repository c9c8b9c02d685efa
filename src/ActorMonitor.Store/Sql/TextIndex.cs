using System.Data.Common;
using static ActorMonitor.Store.Sql.SqlCommands;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// SQLite's trigram index of the four search texts (FTS5, case-sensitive as instr is), so a text
/// search looks up the tasks whose text holds its trigrams instead of reading a million texts
/// (without positions, detail=none, the index is much smaller; the query's instr test keeps the
/// tasks that hold the text itself).
/// The commit keeps it, a few statements per batch (<see cref="UnindexChanged"/>, <see cref="Index"/>), not row triggers,
/// which cost several times the rest of the write (FTS5 writes its pending terms out at every
/// statement that touches it; bench/RESULTS.md). Deleting a task is rare enough for a trigger.
/// </summary>
internal static class TextIndex
{
    private const string Columns = TaskColumns.Texts;

    /// <summary>Creates the index when missing; returns whether it is new (its rows are indexed later).</summary>
    public static bool Create(DbConnection c, DbTransaction tx)
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
            CREATE VIRTUAL TABLE IF NOT EXISTS am_task_texts USING fts5({Columns}, content='am_tasks', content_rowid='rowid',
              tokenize='trigram case_sensitive 1', detail=none);
            DROP TRIGGER IF EXISTS am_tasks_texts_insert;
            DROP TRIGGER IF EXISTS am_tasks_texts_update;
            CREATE TRIGGER IF NOT EXISTS am_tasks_texts_delete AFTER DELETE ON am_tasks BEGIN
              INSERT INTO am_task_texts (am_task_texts, rowid, {Columns}) VALUES ('delete', old.rowid, old.args, old.kwargs, old.result, old.exception);
            END;
            """);
        return !existed;
    }

    /// <summary>
    /// The first half of keeping the index in step with a commit's upserts: the texts of a
    /// stored task that change are taken out of the index before the upsert (FTS5 needs the old
    /// values, which the row holds until then). Returns the rows to index after the upsert: the
    /// changed ones, then the new ones in the order the upsert inserts them. Texts change rarely
    /// after a task is first written (args on task-received, a result or exception at the end),
    /// so most upserts leave the index alone.
    /// </summary>
    public static List<string> UnindexChanged(DbConnection c, DbTransaction tx, IReadOnlyList<TaskRow> rows, IReadOnlyDictionary<string, StoredTask> stored)
    {
        var changed = new List<string>();
        var fresh = new List<string>();
        foreach (var row in rows)
        {
            if (!stored.TryGetValue(row.Uuid, out var before)) fresh.Add(row.Uuid);
            else if (before.Texts[0] != row.Args || before.Texts[1] != row.Kwargs || before.Texts[2] != row.Result || before.Texts[3] != row.Exception)
                changed.Add(row.Uuid);
        }
        Feed(c, tx, changed, $"INSERT INTO am_task_texts (am_task_texts, rowid, {Columns}) SELECT 'delete', rowid, {Columns} FROM am_tasks");
        return [.. changed, .. fresh];
    }

    /// <summary>
    /// The second half: indexes the given rows from the table, as the upsert left them. The
    /// changed rows come first (older rowids), then the new ones, whose rowids ascend in the order
    /// they were inserted.
    /// </summary>
    public static void Index(DbConnection c, DbTransaction tx, List<string> uuids) =>
        Feed(c, tx, uuids, $"INSERT INTO am_task_texts (rowid, {Columns}) SELECT rowid, {Columns} FROM am_tasks");

    /// <summary>
    /// Runs <paramref name="insert"/>, an insert into the index selecting from am_tasks, for the
    /// given tasks, 500 at a time, in rowid order: FTS5 writes its pending terms out as a new
    /// segment whenever a rowid is not above the last one, and fed in uuid order it wrote a
    /// segment every few rows, and merged them.
    /// </summary>
    private static void Feed(DbConnection c, DbTransaction tx, List<string> uuids, string insert)
    {
        foreach (var chunk in uuids.Chunk(500))
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"{insert} WHERE uuid IN ({Keys(cmd, chunk)}) ORDER BY rowid";
            cmd.ExecuteNonQuery();
        }
    }
}
