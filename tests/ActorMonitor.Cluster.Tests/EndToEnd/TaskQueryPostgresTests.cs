using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorMonitor.Cluster.Tests;

/// <summary>The same queries on PostgreSQL: the same SQL with its collations and NULL ordering spelled out.</summary>
[Trait("Category", "EndToEnd")]
public class TaskQueryPostgresTests(PostgresServer postgres, ITestOutputHelper output) : IClassFixture<PostgresServer>
{
    [Theory]
    [InlineData("real-mixed-1")]
    [InlineData("synth-2k-shuffled")]
    public async Task Lists_counts_and_flower_semantics_equal_celery_state(string corpus)
    {
        var reference = new QueryReference(corpus);
        await using var replayed = await TaskQueryTests.ReplayAsync(corpus, $"\"{await postgres.NewJournalAsync()}\"", null);
        await TaskQueryTests.CheckListsAsync(replayed.Node, reference, output);
        await TaskQueryTests.CheckCountsAsync(replayed.Node, reference);
        await TaskQueryTests.CheckFlowerAsync(replayed.Node, reference);
    }
}
