using System.Text.Json;
using ActorMonitor.Celery.Output;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Akka.Cluster;
using AkkaCluster = Akka.Cluster.Cluster;
using Akka.Cluster.Sharding;
using Xunit.Abstractions;

namespace ActorMonitor.Client.Tests;

/// <summary>
/// A real two-system cluster on loopback: a monitor node that replayed a corpus capture, and an
/// application's own ActorSystem that joined it through <see cref="MonitorClient"/>; beside them,
/// a system outside the cluster that reaches the node through a ClusterClient.
/// </summary>
public sealed class MonitorAndClient : IAsyncLifetime
{
    public const string CorpusName = "real-mixed-1";

    public ActorSystem NodeSystem { get; private set; } = null!;
    public MonitorNode Node { get; private set; } = null!;
    public ActorSystem ClientSystem { get; private set; } = null!;
    public MonitorClient Client { get; private set; } = null!;
    public ActorSystem OutsideSystem { get; private set; } = null!;
    public MonitorClient OutsideClient { get; private set; } = null!;
    public JsonDocument Expected { get; } = JsonDocument.Parse(File.ReadAllBytes(Corpus.Expected(CorpusName)));

    public Address MonitorAddress => AkkaCluster.Get(NodeSystem).SelfAddress;
    public Address ClientAddress => AkkaCluster.Get(ClientSystem).SelfAddress;

    public async Task InitializeAsync()
    {
        // The expected states were computed on a UTC machine: pin Celery's "here" offset to 0.
        var config = MonitorConfig.With("actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory");
        NodeSystem = await MonitorSystem.StartAsync(config);
        Node = await MonitorNode.StartAsync(NodeSystem);
        using (var reader = File.OpenRead(Corpus.Capture(CorpusName)))
            await CaptureFeeder.FeedAsync(Node, reader);
        await Node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
        await Node.Queries.CheckpointAsync(); // task lists and counts read the store

        // As an application would: same system name as the monitor's cluster, the monitor as seed.
        var name = config.GetString("actormonitor.cluster-name");
        ClientSystem = ActorSystem.Create(name, MonitorClient.Config(seedNodes: [MonitorAddress.ToString()]));
        Client = await MonitorClient.StartAsync(ClientSystem);

        // And a system outside the cluster, through a ClusterClient and the node's receptionist.
        OutsideSystem = ActorSystem.Create("outside", MonitorClient.ClusterClientConfig());
        OutsideClient = MonitorClient.StartClusterClient(OutsideSystem, [MonitorClient.ContactPoint(MonitorAddress.ToString())]);
    }

    public async Task DisposeAsync()
    {
        Expected.Dispose();
        if (OutsideSystem is not null) await OutsideSystem.Terminate();
        if (ClientSystem is not null) await ClientSystem.Terminate();
        if (NodeSystem is not null) await NodeSystem.Terminate();
    }
}

public class ClientClusterTests(MonitorAndClient cluster, ITestOutputHelper output) : IClassFixture<MonitorAndClient>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {Timeout.TotalSeconds} s: {what}");
            await Task.Delay(20);
        }
    }

    private static Member? MemberAt(ActorSystem seenBy, Address address) =>
        AkkaCluster.Get(seenBy).State.Members.FirstOrDefault(m => m.Address.Equals(address));

    [Fact]
    public async Task The_client_joins_with_the_client_role_only()
    {
        await Eventually(() => MemberAt(cluster.NodeSystem, cluster.ClientAddress)?.Status == MemberStatus.Up,
            "the monitor sees the client Up");
        await Eventually(() => AkkaCluster.Get(cluster.ClientSystem).SelfMember.Status == MemberStatus.Up,
            "the client sees itself Up");

        var client = MemberAt(cluster.NodeSystem, cluster.ClientAddress)!;
        Assert.Contains(MonitorClient.ClientRole, client.Roles);
        Assert.DoesNotContain(MonitorClient.MonitorRole, client.Roles);
        Assert.Equal(client.Roles, AkkaCluster.Get(cluster.ClientSystem).SelfMember.Roles);

        var monitor = MemberAt(cluster.ClientSystem, cluster.MonitorAddress);
        Assert.NotNull(monitor);
        Assert.Contains(MonitorClient.MonitorRole, monitor.Roles);
        Assert.NotEqual(cluster.MonitorAddress, cluster.ClientAddress);
    }

    [Fact]
    public async Task The_client_runs_no_live_feed_and_does_not_hold_the_monitors_stream_back()
    {
        await Eventually(() => MemberAt(cluster.NodeSystem, cluster.ClientAddress)?.Status == MemberStatus.Up,
            "the monitor sees the client Up");
        // Only monitor members publish live batches: a stream on the monitor does not wait to hear the client.
        Assert.True(await cluster.Node.Live.EveryMemberReachesAsync(Timeout, CancellationToken.None),
            "every monitor member's live batches reach the monitor node");
    }

    [Fact]
    public async Task The_client_hosts_no_shards()
    {
        // Entities are asked through the client's proxies first, so the coordinator knows of them.
        var uuid = cluster.Expected.RootElement.GetProperty("tasks").EnumerateObject().First().Name;
        Assert.NotNull(await cluster.Client.TaskAsync(uuid));
        var hostname = cluster.Expected.RootElement.GetProperty("workers").EnumerateObject().First().Name;
        Assert.NotNull(await cluster.Client.WorkerAsync(hostname));

        foreach (var (proxy, region) in new[] { (cluster.Client.Tasks, cluster.Node.Tasks), (cluster.Client.Workers, cluster.Node.Workers) })
        {
            // The coordinator's regions (proxies are not regions): the monitor node alone.
            var regions = await proxy.Ask<CurrentRegions>(GetCurrentRegions.Instance, Timeout);
            Assert.Equal(cluster.MonitorAddress, Assert.Single(regions.Regions));

            // The client's proxy holds no shard, and the cluster-wide stats show shards on the monitor only.
            var local = await proxy.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, Timeout);
            Assert.Empty(local.Shards);
            var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(Timeout), Timeout);
            Assert.All(stats.Regions.Keys, address => Assert.Equal(cluster.MonitorAddress, address));
            Assert.True(stats.Regions[cluster.MonitorAddress].Stats.Count > 0, "the monitor hosts the shards");
        }
    }

    [Fact]
    public async Task Tasks_asked_from_the_client_are_the_monitors_own_and_celerys()
    {
        var expectedTasks = cluster.Expected.RootElement.GetProperty("tasks");
        var uuids = expectedTasks.EnumerateObject().Select(p => p.Name).ToList();
        Assert.True(uuids.Count > 10);
        Assert.Contains(expectedTasks.EnumerateObject(), p => p.Value.GetProperty("children").GetArrayLength() > 0);

        var fromClient = new List<TaskSnapshot>();
        var fromNode = new List<TaskSnapshot>();
        foreach (var uuid in uuids)
        {
            fromClient.Add(await cluster.Client.TaskAsync(uuid) ?? throw new Xunit.Sdk.XunitException($"no task {uuid} from the client"));
            fromNode.Add(await cluster.Node.Queries.TaskAsync(uuid) ?? throw new Xunit.Sdk.XunitException($"no task {uuid} from the node"));
        }

        using var client = Document("tasks", fromClient, t => t.Uuid, StateDocument.WriteTask);
        using var node = Document("tasks", fromNode, t => t.Uuid, StateDocument.WriteTask);
        AssertSame(node.RootElement, client.RootElement, "tasks");
        AssertSame(cluster.Expected.RootElement, client.RootElement, "tasks");
    }

    [Fact]
    public async Task An_unknown_task_or_worker_is_null()
    {
        Assert.Null(await cluster.Client.TaskAsync(Guid.NewGuid().ToString()));
        Assert.Null(await cluster.Client.WorkerAsync("nobody@nowhere"));
    }

    [Fact]
    public async Task Workers_asked_from_the_client_are_the_monitors_own_and_celerys()
    {
        // "alive" is judged at the state's as_of, as Celery's expected state was.
        var asOf = cluster.Expected.RootElement.GetProperty("as_of").GetDouble();
        var hostnames = cluster.Expected.RootElement.GetProperty("workers").EnumerateObject().Select(p => p.Name).ToList();
        Assert.NotEmpty(hostnames);

        var fromClient = new List<WorkerSnapshot>();
        var fromNode = new List<WorkerSnapshot>();
        foreach (var hostname in hostnames)
        {
            fromClient.Add(await cluster.Client.WorkerAsync(hostname, asOf) ?? throw new Xunit.Sdk.XunitException($"no worker {hostname} from the client"));
            fromNode.Add(await cluster.Node.Queries.WorkerAsync(hostname, asOf) ?? throw new Xunit.Sdk.XunitException($"no worker {hostname} from the node"));
        }

        using var client = Document("workers", fromClient, w => w.Hostname, StateDocument.WriteWorker);
        using var node = Document("workers", fromNode, w => w.Hostname, StateDocument.WriteWorker);
        AssertSame(node.RootElement, client.RootElement, "workers");
        AssertSame(cluster.Expected.RootElement, client.RootElement, "workers");
    }

    [Fact]
    public async Task The_proxies_answer_the_public_messages_directly()
    {
        var uuid = cluster.Expected.RootElement.GetProperty("tasks").EnumerateObject().Last().Name;
        var reply = await cluster.Client.Tasks.Ask<TaskReply>(new GetTask(uuid), Timeout);
        Assert.Equal(uuid, reply.Uuid);
        Assert.Equal(uuid, reply.Task?.Uuid);

        var hostname = cluster.Expected.RootElement.GetProperty("workers").EnumerateObject().Last().Name;
        var worker = await cluster.Client.Workers.Ask<WorkerReply>(new GetWorker(hostname, 0), Timeout);
        Assert.Equal(hostname, worker.Hostname);
        Assert.Equal(hostname, worker.Worker?.Hostname);
    }

    /// <summary>{"key": {id: object, ...}} as the state document writes its tasks or workers.</summary>
    private static JsonDocument Document<T>(string key, IEnumerable<T> items, Func<T, string> id, Action<Utf8JsonWriter, T> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject(key);
            foreach (var item in items)
            {
                w.WritePropertyName(id(item));
                write(w, item);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return JsonDocument.Parse(buffer.ToArray());
    }

    private void AssertSame(JsonElement expected, JsonElement actual, string key)
    {
        var diffs = StateComparison.Differences(expected, actual, keys: [key]);
        foreach (var d in diffs.Take(20)) output.WriteLine(d);
        Assert.Empty(diffs);
    }
}
