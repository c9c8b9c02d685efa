using System.Collections.Immutable;
using System.Text.Json;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using ActorMonitor.Store;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit.Xunit2;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;

namespace ActorMonitor.Cluster.Tests;

public class EventRelayTests : TestKit
{
    private static ApplyTaskEvent TaskEventFor(string uuid, long delivery) =>
        new(uuid, delivery, new TaskEvent(uuid, "started", "w1@h", 10, 1, 11, [new("pid", "7")], Id: 1));

    [Fact]
    public void Hands_events_to_the_local_regions_on_the_receivers_behalf()
    {
        var tasks = CreateTestProbe();
        var workers = CreateTestProbe();
        var relay = Sys.ActorOf(EventRelay.Props(tasks.Ref, workers.Ref));
        var receiverA = CreateTestProbe();
        var receiverB = CreateTestProbe();

        relay.Tell(new RelayEvents([TaskEventFor("a", 5), new ApplyWorkerEvents("w1@h", 6, [])]), receiverA.Ref);
        relay.Tell(new RelayEvents([TaskEventFor("b", 5)]), receiverB.Ref);

        // Unchanged, and sent as the receiver: the entities' answers go back to it through their keeper.
        var a = tasks.ExpectMsg<ApplyTaskEvent>();
        Assert.Equal(("a", 5L), (a.Uuid, a.DeliveryId));
        Assert.Equal(receiverA.Ref, tasks.LastSender);
        var w = workers.ExpectMsg<ApplyWorkerEvents>();
        Assert.Equal(("w1@h", 6L), (w.Hostname, w.DeliveryId));
        Assert.Equal(receiverA.Ref, workers.LastSender);
        var b = tasks.ExpectMsg<ApplyTaskEvent>();
        Assert.Equal(("b", 5L), (b.Uuid, b.DeliveryId));
        Assert.Equal(receiverB.Ref, tasks.LastSender);
    }
}

public class RelayOutboxTests
{
    private static readonly Address NodeB = new("akka.tcp", "actormonitor", "127.0.0.1", 4002);
    private static readonly Address NodeC = new("akka.tcp", "actormonitor", "127.0.0.1", 4003);

    [Fact]
    public void Gathers_per_node_and_hands_over_a_batch_once_it_is_as_large_as_one_remote_message_should_be()
    {
        var outbox = new RelayOutbox();
        var big = new string('x', 10_000);
        var ev = new TaskEvent("a", "sent", "w@h", 1, 1, 1, [new("args", big)], Id: 1);
        Assert.Null(outbox.Add(NodeC, new ApplyWorkerEvents("w@h", 1, [])));
        List<object>? full = null;
        var added = 0;
        while (full is null)
        {
            full = outbox.Add(NodeB, new ApplyTaskEvent("a", ++added, ev));
            Assert.True(added < 100);
        }
        Assert.Equal(added, full.Count);
        Assert.InRange(added * big.Length, RelayOutbox.MaxBatchBytes - big.Length, RelayOutbox.MaxBatchBytes + big.Length);

        var rest = outbox.Drain();
        Assert.Equal([NodeC], rest.Select(r => r.Node));
        Assert.True(outbox.IsEmpty);
    }
}

public class RelayBatchSizeTests
{
    [Fact]
    public async Task A_full_batch_of_small_events_is_no_larger_on_the_wire_than_the_outbox_counted()
    {
        var system = ActorSystem.Create("actormonitor", MonitorConfig.With("actormonitor.journal = memory"));
        try
        {
            var outbox = new RelayOutbox();
            var node = new Address("akka.tcp", "actormonitor", "127.0.0.1", 4002);
            List<object>? full = null;
            for (var i = 0; full is null; i++)
            {
                // A task-sent event as Celery writes it: short fields, where the per-event overhead
                // counts most; every text differs from the other events' (none goes as a number).
                var uuid = $"3a902931-cd44-4e35-b8b6-{i:d12}";
                full = outbox.Add(node, new ApplyTaskEvent(uuid, i, new TaskEvent(uuid, $"sent{i}", $"gen{i}@client", 1795400000.0, i, 1795400000.0005,
                [
                    new($"pid{i}", $"{i}"), new($"root_id{i}", $"\"{uuid}\""), new($"name{i}", $"\"app.tasks.rebuild_index{i}\""),
                    new($"args{i}", $"\"({i}, 40)\""), new($"queue{i}", $"\"celery{i}\""),
                ], Id: (ulong)i + 1), i));
            }
            var bytes = system.Serialization.FindSerializerFor(new RelayEvents(full)).ToBinary(new RelayEvents(full));
            Assert.True(full.Count > 100);
            Assert.InRange(bytes.Length, RelayOutbox.MaxBatchBytes * 3 / 4, RelayOutbox.MaxBatchBytes);
        }
        finally
        {
            await system.Terminate();
        }
    }
}

public class ShardHomesTests
{
    private static readonly Address Self = new("akka.tcp", "actormonitor", "127.0.0.1", 4001);
    private static readonly Address NodeB = new("akka.tcp", "actormonitor", "127.0.0.1", 4002);

    [Fact]
    public void Knows_the_node_of_each_shard_the_cluster_listed_and_forgets_a_lost_node()
    {
        var homes = new ShardHomes(id => id[..1]);
        Assert.Null(homes.Of("1-task"));
        homes.Update(new ClusterShardingStats(ImmutableDictionary<Address, ShardRegionStats>.Empty
            .Add(new Address("akka", "actormonitor"), new ShardRegionStats(ImmutableDictionary<string, int>.Empty.Add("1", 3), ImmutableHashSet<string>.Empty))
            .Add(NodeB, new ShardRegionStats(ImmutableDictionary<string, int>.Empty.Add("2", 1).Add("3", 0), ImmutableHashSet<string>.Empty))), Self);

        Assert.Equal(Self, homes.Of("1-task")); // the local region's address has no host
        Assert.Equal(NodeB, homes.Of("2-task"));
        Assert.Equal(NodeB, homes.Of("3-task"));
        Assert.Null(homes.Of("4-task"));
        homes.Forget(NodeB);
        Assert.Null(homes.Of("2-task"));
        Assert.Equal(Self, homes.Of("1-task"));
    }
}

/// <summary>
/// Two monitor nodes in one process, one store: a capture fed to one node's receiver reaches the
/// entities on the other through that node's relay, and the state equals Celery's.
/// </summary>
public class TwoNodeRelayTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Events_for_the_other_nodes_shards_go_through_its_relay_and_the_state_equals_celerys()
    {
        var config = "actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory\nakka.remote.dot-netty.tcp.port = 0\n";
        var store = new MemoryStateStore();
        var systemA = await MonitorSystem.StartAsync(MonitorConfig.With(config + "actormonitor.node-name = a"));
        ActorSystem? systemB = null;
        try
        {
            var seed = AkkaCluster.Get(systemA).SelfAddress;
            systemB = await MonitorSystem.StartAsync(MonitorConfig.With(config + $"actormonitor.node-name = b\nakka.cluster.seed-nodes = [\"{seed}\"]"));
            var nodeA = await MonitorNode.StartAsync(systemA, store: store);
            var nodeB = await MonitorNode.StartAsync(systemB, store: store);

            // The first part allocates the shards; the receiver learns where they live, then the rest
            // (most of the capture) finds them.
            var lines = File.ReadAllLines(Corpus.Capture("synth-2k"));
            await Feed(nodeA, lines.Take(400));
            var addressB = AkkaCluster.Get(systemB).SelfAddress;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (true)
            {
                var tasks = await nodeA.Tasks.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(5));
                var workers = await nodeA.Workers.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(5));
                var allocated = tasks.Regions.Values.Concat(workers.Regions.Values).Sum(r => r.Stats.Count);
                var known = (await nodeA.Queries.ReceiverStatsAsync()).ShardHomes;
                if (known >= allocated && tasks.Regions.TryGetValue(addressB, out var regionB) && regionB.Stats.Count > 0) break;
                Assert.True(DateTime.UtcNow < deadline, $"node a's receiver knows {known} of {allocated} shards' homes");
                await Task.Delay(100);
            }
            await Feed(nodeA, lines.Skip(400));
            await nodeA.Queries.DrainAsync(TimeSpan.FromSeconds(30));

            var stats = await nodeA.Queries.StatsAsync();
            output.WriteLine($"relayed {stats.RelayedEvents} of {stats.AcceptedEvents} events");
            Assert.True(stats.RelayedEvents > 0, "node a sent events for node b's shards through node b's relay");
            var onB = await nodeB.Tasks.Ask<ShardRegionStats>(GetShardRegionStats.Instance, TimeSpan.FromSeconds(5));
            Assert.True(onB.Stats.Values.Sum() > 0, "node b hosts task entities");

            var state = await nodeA.Queries.StateAsync();
            using var buffer = new MemoryStream();
            state.WriteTo(buffer);
            using var actual = JsonDocument.Parse(buffer.ToArray());
            using var expected = JsonDocument.Parse(File.ReadAllBytes(Corpus.Expected("synth-2k")));
            var diffs = StateComparison.Differences(expected.RootElement, actual.RootElement);
            foreach (var d in diffs.Take(20)) output.WriteLine(d);
            Assert.Empty(diffs);
            Assert.Equal(0, stats.DuplicateEvents);
        }
        finally
        {
            if (systemB is not null) await systemB.Terminate();
            await systemA.Terminate();
        }
    }

    private static async Task Feed(MonitorNode node, IEnumerable<string> lines)
    {
        using var part = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));
        await CaptureFeeder.FeedAsync(node, part);
    }
}
