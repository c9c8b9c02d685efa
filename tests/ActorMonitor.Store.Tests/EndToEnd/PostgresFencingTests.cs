using ActorMonitor.Store.Sql;
using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Store.Tests;

/// <summary>The same on PostgreSQL, where a fence must also wait for the downed node's commit in flight.</summary>
[Trait("Category", "EndToEnd")]
public class PostgresFencingTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task A_fence_waits_for_the_commit_in_flight_and_refuses_every_later_one()
    {
        var journal = await postgres.NewJournalAsync();
        using var store = new SqlStateStore(StoreTarget.Parse(journal));
        store.Initialize();
        store.RegisterWriter("node-a#1", "node-a");
        store.Commit(FencingTests.Commit("node-a#1", "w1"));

        // node-a's commit in flight: its transaction has claimed its writer row and not ended.
        await using var inFlight = new Npgsql.NpgsqlConnection(journal["postgres:".Length..] + ";Pooling=false");
        await inFlight.OpenAsync();
        var tx = await inFlight.BeginTransactionAsync();
        await using (var claim = new Npgsql.NpgsqlCommand("UPDATE am_writers SET commits = commits + 1 WHERE incarnation = 'node-a#1' AND fenced_at IS NULL", inFlight, tx))
            Assert.Equal(1, await claim.ExecuteNonQueryAsync());

        var fence = Task.Run(() => store.Fence("node-a#1", "node-a", "node-b#7"));
        Assert.NotSame(fence, await Task.WhenAny(fence, Task.Delay(TimeSpan.FromSeconds(1)))); // blocked by the commit
        await tx.CommitAsync();
        await fence.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Throws<WriterFencedException>(() => store.Commit(FencingTests.Commit("node-a#1", "w2")));
        Assert.Empty(store.LoadWorkers(["w2"]));
    }
}
