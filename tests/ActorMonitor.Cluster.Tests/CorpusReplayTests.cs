using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Xunit.Abstractions;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// Every corpus capture replayed through the receiver actor and the sharded entities of a real
/// (self-joined) cluster node equals, field by field, the state Celery's own State computed.
/// </summary>
public class CorpusReplayTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("real-mixed-1", 0, null)]
    [InlineData("synth-2k", 0, null)]
    [InlineData("synth-2k-shuffled", 0, null)]
    [InlineData("synth-2k-skew", 0, null)]
    [InlineData("malformed", 13, null)]
    [InlineData("real-mixed-1", 0, 100)]
    [InlineData("synth-2k", 0, 100)]
    [InlineData("synth-2k-shuffled", 0, 100)]
    [InlineData("synth-2k-skew", 0, 100)]
    [InlineData("malformed", 13, 100)]
    public async Task Replay_equals_celery_state(string corpus, long rejected, int? maxTasksInMemory)
    {
        // The expected states were computed on a UTC machine: pin Celery's "here" offset to 0.
        var limit = maxTasksInMemory is { } max ? $"\nactormonitor.state.max-tasks-in-memory = {max}\nactormonitor.state.max-workers-in-memory = 2" : "";
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory" + limit));
        try
        {
            var node = await MonitorNode.StartAsync(system);
            using (var reader = File.OpenRead(Corpus.Capture(corpus)))
                await CaptureFeeder.FeedAsync(node, reader);
            await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            var state = await node.Queries.StateAsync();

            using var buffer = new MemoryStream();
            state.WriteTo(buffer);
            using var actual = JsonDocument.Parse(buffer.ToArray());
            using var expected = JsonDocument.Parse(File.ReadAllBytes(Corpus.Expected(corpus)));

            var diffs = StateComparison.Differences(expected.RootElement, actual.RootElement);
            foreach (var d in diffs.Take(20)) output.WriteLine(d);
            Assert.Empty(diffs);
            Assert.Equal(rejected, actual.RootElement.GetProperty("rejected").GetInt64());
            Assert.Equal(expected.RootElement.GetProperty("messages").GetInt64(), actual.RootElement.GetProperty("messages").GetInt64());
            Assert.Equal(expected.RootElement.GetProperty("as_of").GetDouble(), actual.RootElement.GetProperty("as_of").GetDouble(), 6);

            var taskCount = actual.RootElement.GetProperty("tasks").EnumerateObject().Count();
            if (maxTasksInMemory is not null)
            {
                // Over the limit, entities were passivated: the state came from their stored rows too.
                if (taskCount > maxTasksInMemory) Assert.True((await node.Queries.KeeperStatsAsync()).Passivations > 0);
                return;
            }
            // The state came from sharded entities: every task is live in its shard's bucket, every worker is a live entity.
            var tasks = await node.Tasks.Ask<ShardRegionStats>(GetShardRegionStats.Instance, TimeSpan.FromSeconds(5));
            var workers = await node.Workers.Ask<ShardRegionStats>(GetShardRegionStats.Instance, TimeSpan.FromSeconds(5));
            Assert.True((await node.Queries.KeeperStatsAsync()).LiveTasks >= taskCount);
            Assert.All(tasks.Stats.Values, entities => Assert.Equal(1, entities)); // one bucket per shard
            Assert.True(workers.Stats.Values.Sum() >= state.Workers.Count);
            Assert.True(tasks.Stats.Count > 1, "tasks are spread over shards");
        }
        finally
        {
            await system.Terminate();
        }
    }
}
