using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Tests.Shared;
using Akka.Actor;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// Several nodes starting at the same moment on an empty PostgreSQL database: the tables (ours and
/// Akka.Persistence.Sql's) are created once, under a lock, and every node persists its checkpoints.
/// </summary>
[Trait("Category", "EndToEnd")]
public class PostgresStartupTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Nodes_starting_together_on_an_empty_database_all_persist()
    {
        var journal = await postgres.NewJournalAsync();
        var systems = new List<ActorSystem>();
        try
        {
            var nodes = await Task.WhenAll(Enumerable.Range(1, 3).Select(async i =>
            {
                var system = await MonitorSystem.StartAsync(MonitorConfig.With(
                    $"actormonitor.journal = \"{journal}\"\nactormonitor.node-name = \"node-{i}\""));
                lock (systems) systems.Add(system);
                return await MonitorNode.StartAsync(system);
            }));
            foreach (var node in nodes)
            {
                await node.Queries.CheckpointAsync(TimeSpan.FromSeconds(30)); // the keeper commits, the journal persists
                Assert.Equal(0, (await node.Queries.ReceiverStatsAsync()).CheckpointFailures);
            }

            await using var c = new Npgsql.NpgsqlConnection(journal["postgres:".Length..] + ";Pooling=false");
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM journal WHERE persistence_id LIKE 'receiver-node-%'";
            Assert.True((long)(await cmd.ExecuteScalarAsync())! >= 3);
            cmd.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('journal', 'tags', 'snapshot', 'am_tasks', 'am_workers', 'am_task_types')";
            Assert.Equal(6L, (long)(await cmd.ExecuteScalarAsync())!);
        }
        finally
        {
            await Task.WhenAll(systems.Select(s => s.Terminate()));
        }
    }
}
