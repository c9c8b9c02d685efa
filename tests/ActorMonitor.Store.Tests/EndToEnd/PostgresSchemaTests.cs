using ActorMonitor.Store.Queries;
using ActorMonitor.Store.Sql;
using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Store.Tests;

/// <summary>The schema versions on PostgreSQL: a new journal gets every migration, one written before versions is adopted once.</summary>
[Trait("Category", "EndToEnd")]
public class PostgresSchemaTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_new_journal_gets_every_migration_and_one_written_before_versions_keeps_its_rows()
    {
        var journal = await postgres.NewJournalAsync();
        using (var fresh = new SqlStateStore(StoreTarget.Parse(journal)))
        {
            fresh.Initialize();
            Assert.Equal(Schema.Migrations.Select(m => (m.Version, "applied")), Schema.Versions(fresh.Dialect));
            var row = StoredRows.TaskRow(TestRecords.Received("t1", 10, "\"name\": \"job\", \"args\": \"alpha\"")) with { New = true };
            fresh.Commit(new StoreCommit([row], [new WorkerRow("w1", [1, 2], 3)], ["job"]));
        }
        // The same tables without the version table: a journal as the code before versions left it.
        await using (var c = new Npgsql.NpgsqlConnection(journal["postgres:".Length..] + ";Pooling=false"))
        {
            await c.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand("DROP TABLE am_schema_versions", c);
            await drop.ExecuteNonQueryAsync();
        }

        using var store = new SqlStateStore(StoreTarget.Parse(journal));
        store.Initialize();
        Assert.Equal(Schema.Migrations.Select(m => (m.Version, "found")), Schema.Versions(store.Dialect));
        Assert.Equal(["t1"], store.LoadTasks(["t1"]).Keys);
        Assert.Equal([1, 2], store.LoadWorkers(["w1"])["w1"]);
        Assert.Equal(1, store.CountTasks(TaskQuery.All).Total);
        Assert.Equal(["t1"], store.QueryTasks(new TaskQuery { Search = "alpha" }).Tasks.Select(t => t.Uuid));
        store.Initialize();
        Assert.Equal(Schema.Migrations.Select(m => (m.Version, "found")), Schema.Versions(store.Dialect));
    }

    [Fact]
    public async Task Task_rows_are_stored_column_for_column_and_a_later_commit_replaces_them()
    {
        var journal = await postgres.NewJournalAsync();
        using var store = new SqlStateStore(StoreTarget.Parse(journal));
        store.Initialize();
        var full = new TaskRow("t-full", [0, 1, 255], 7, 3, 1, "app.tâche", "SUCCESS", "w1@h", 1.25, 1.5, 2.0000000001, null, 2.5,
            Runtime: 0.75, Args: "(1, 'ü')", Kwargs: "{'a': None}", Result: "'3'", Exception: "", HeapClock: long.MaxValue, HeapOrigin: "w1@h");
        var bare = new TaskRow("t-bare", [], 1, 0, 0, null, null, null, null, null, null, null, null);
        store.Commit(new StoreCommit([full with { New = true }, bare with { New = true }], [], []));
        Assert.Equal([Columns(full), Columns(bare)], await ReadAsync(journal, "t-full", "t-bare"));

        var later = full with { LastSeq = 9, EventCount = 4, State = "FAILURE", Failed = 3.5, Result = null, Exception = "ValueError('x')", Data = [9] };
        store.Commit(new StoreCommit([later], [], []));
        Assert.Equal([Columns(later), Columns(bare)], await ReadAsync(journal, "t-full", "t-bare"));
    }

    private static string Columns(TaskRow row) => string.Join(" | ", TaskColumns.Values(row).Select(Text));

    private static string Text(object? value) => value switch
    {
        null or DBNull => "null",
        byte[] b => Convert.ToHexString(b),
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
    };

    private static async Task<List<string>> ReadAsync(string journal, params string[] uuids)
    {
        await using var c = new Npgsql.NpgsqlConnection(journal["postgres:".Length..] + ";Pooling=false");
        await c.OpenAsync();
        var rows = new List<string>();
        foreach (var uuid in uuids)
        {
            await using var cmd = new Npgsql.NpgsqlCommand($"SELECT {string.Join(", ", TaskColumns.Names)} FROM am_tasks WHERE uuid = $1", c);
            cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = uuid });
            await using var reader = await cmd.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync(), uuid);
            rows.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(k => Text(reader.GetValue(k)))));
        }
        return rows;
    }
}
