using System.Collections.Concurrent;
using System.Text.Json;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Output;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Store;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// Durable state in bounded memory, through real self-joined cluster nodes: the live-entity limit
/// passivates least recently used entities without forgetting them, a node restarted on the same
/// SQLite file after unacked messages resumes exactly, and a store that fails keeps messages unacked.
/// </summary>
[Collection("cluster")]
public class DurabilityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-durability-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task<(ActorSystem, MonitorNode)> StartAsync(string hocon, IStateStore? store = null)
    {
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory\n" + hocon));
        return (system, await MonitorNode.StartAsync(system, store: store));
    }

    private static List<CaptureRecord> Records(string corpus) =>
        File.ReadAllLines(Corpus.Capture(corpus)).Select(l => CaptureRecord.Parse(l, out _)!).ToList();

    /// <summary>Feeds records as a broker source would; returns the ids a checkpoint made durable (acked).</summary>
    private static async Task<ConcurrentDictionary<long, bool>> FeedAsync(MonitorNode node,
        IEnumerable<(long Id, CaptureRecord Record, bool Redelivered)> records, bool checkpoint = false)
    {
        var durable = new ConcurrentDictionary<long, bool>();
        var decoder = node.CreateDecoder();
        await using var ingest = node.CreateIngestClient(onDurable: ids => { foreach (var id in ids) durable[id] = true; });
        var sent = 0;
        foreach (var (id, r, redelivered) in records)
        {
            await ingest.SendAsync(r.RoutingKey, decoder.Decode(r.Body), r.LocalReceived, id, CancellationToken.None, redelivered);
            sent++;
        }
        await ingest.WhenAllAppliedAsync();
        if (checkpoint)
        {
            await node.Queries.CheckpointAsync();
            for (var i = 0; i < 200 && durable.Count < sent; i++) await Task.Delay(10);
        }
        return durable;
    }

    private List<string> Compare(StateDocument state, string corpus)
    {
        using var buffer = new MemoryStream();
        state.WriteTo(buffer);
        using var actual = JsonDocument.Parse(buffer.ToArray());
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Corpus.Expected(corpus)));
        var diffs = StateComparison.Differences(expected.RootElement, actual.RootElement);
        foreach (var d in diffs.Take(20)) output.WriteLine(d);
        Assert.Equal(expected.RootElement.GetProperty("messages").GetInt64(), actual.RootElement.GetProperty("messages").GetInt64());
        return diffs;
    }

    [Fact]
    public async Task The_live_entity_limit_passivates_the_least_recently_used_and_forgets_nothing()
    {
        var (system, node) = await StartAsync("actormonitor.state.max-tasks-in-memory = 50\nactormonitor.state.max-workers-in-memory = 2");
        try
        {
            var records = Records("synth-2k");
            await FeedAsync(node, records.Select((r, i) => ((long)i, r, false)));
            await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            output.WriteLine($"after feeding: {await node.Queries.KeeperStatsAsync()}");
            Assert.Empty(Compare(await node.Queries.StateAsync(), "synth-2k"));

            // Every task was created, and all but the most recent ~50 were passivated.
            var stats = await node.Queries.KeeperStatsAsync();
            output.WriteLine($"{stats}");
            Assert.True(stats.Passivations >= 1900, $"passivations: {stats.Passivations}");
            var live = 0;
            for (var i = 0; i < 100 && (live = (await node.Queries.KeeperStatsAsync()).LiveTasks) > 50; i++) await Task.Delay(50);
            Assert.InRange(live, 1, 50);

            // A task passivated long ago is restored from its row when asked.
            using var expected = JsonDocument.Parse(File.ReadAllBytes(Corpus.Expected("synth-2k")));
            var first = expected.RootElement.GetProperty("tasks").EnumerateObject().First();
            var task = await node.Queries.TaskAsync(first.Name);
            Assert.NotNull(task);
            Assert.Equal(first.Value.GetProperty("state").GetString(), JsonSerializer.Deserialize<string>(task.Field("state")!));
            Assert.True((await node.Queries.KeeperStatsAsync()).RowsLoaded >= 1);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_node_restarted_on_its_database_applies_the_redelivered_messages_once()
    {
        var journal = $"actormonitor.journal = \"sqlite:{Path.Combine(_dir, "state.db")}\"\n";
        // Checkpoints only on demand, and a limit that makes the keeper write rows between them.
        var hocon = journal + "actormonitor.checkpoint.interval = 1h\nactormonitor.checkpoint.max-messages = 1000000\nactormonitor.state.max-tasks-in-memory = 100";
        var records = Records("synth-2k-shuffled");
        var half = records.Count / 2;
        var acked = new HashSet<long>();

        var (system, node) = await StartAsync(hocon);
        try
        {
            var first = await FeedAsync(node, records.Take(half).Select((r, i) => ((long)i, r, false)), checkpoint: true);
            acked.UnionWith(first.Keys);
            // Applied, partly written by the keeper, never checkpointed: the broker still holds these.
            await FeedAsync(node, records.Skip(half).Take(500).Select((r, i) => ((long)(half + i), r, false)));
            await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            Assert.True((await node.Queries.KeeperStatsAsync()).Commits > 1);
        }
        finally
        {
            await system.Terminate();
        }
        Assert.Equal(half, acked.Count);

        (system, node) = await StartAsync(hocon);
        try
        {
            // The broker redelivers every unacked message, then the rest follows.
            await FeedAsync(node, records.Select((r, i) => ((long)i, r, i < half + 500)).Where(x => !acked.Contains(x.Item1)));
            await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            Assert.Empty(Compare(await node.Queries.StateAsync(), "synth-2k-shuffled"));
            var stats = await node.Queries.ReceiverStatsAsync();
            output.WriteLine($"duplicates: {stats.DuplicateEvents} events, {stats.DuplicateMessages} messages");
            Assert.True(stats.DuplicateEvents > 0, "some redelivered events had reached the store before the restart");
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_failing_store_keeps_messages_unacked_until_it_is_back()
    {
        var store = new MemoryStateStore();
        var (system, node) = await StartAsync("actormonitor.checkpoint.interval = 50ms", store);
        try
        {
            store.Unavailable = true;
            var records = Records("real-mixed-1");
            var durable = new ConcurrentDictionary<long, bool>();
            var decoder = node.CreateDecoder();
            await using var ingest = node.CreateIngestClient(onDurable: ids => { foreach (var id in ids) durable[id] = true; });
            for (var i = 0; i < records.Count; i++)
                await ingest.SendAsync(records[i].RoutingKey, decoder.Decode(records[i].Body), records[i].LocalReceived, i, CancellationToken.None);
            await ingest.WhenAllAppliedAsync();

            await Assert.ThrowsAnyAsync<Exception>(() => node.Queries.CheckpointAsync(TimeSpan.FromSeconds(10)));
            var stats = await node.Queries.ReceiverStatsAsync();
            Assert.True(stats.CheckpointFailures > 0);
            Assert.Equal(records.Count, stats.AwaitingCheckpoint);
            Assert.Empty(durable);
            Assert.NotNull((await node.Queries.KeeperStatsAsync()).LastError);

            // Back: the keeper's back-off retry and the receiver's next checkpoint ack everything.
            store.Unavailable = false;
            for (var i = 0; i < 300 && durable.Count < records.Count; i++) await Task.Delay(50);
            Assert.Equal(records.Count, durable.Count);
            Assert.Empty(Compare(await node.Queries.StateAsync(), "real-mixed-1"));
        }
        finally
        {
            await system.Terminate();
        }
    }
}
