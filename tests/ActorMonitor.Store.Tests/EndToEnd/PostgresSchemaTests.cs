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
}
