using System.Runtime.Serialization;
using System.Text.Json;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Cluster.Serialization;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using ActorMonitor.Store;
using Akka.Actor;
using Akka.Serialization;

namespace ActorMonitor.Client.Tests;

/// <summary>
/// The binary wire formats through Akka's own serialization: the serializer Akka picks for each
/// message is the one the configuration binds (a client system's <see cref="MonitorClient.Config"/>,
/// a node's embedded actormonitor.conf), and every message comes back with the same content.
/// </summary>
public class SerializerTests
{
    private static readonly TaskSnapshot FullTask = new(
        "7d2f0c1e-0000-4000-8000-000000000001",
        [new("name", "\"tasks.add\""), new("state", "\"SUCCESS\""), new("result", "null"), new("exception", null), new("runtime", "0.0003326949999")],
        "w1@demo-1",
        ["7d2f0c1e-0000-4000-8000-000000000002", "7d2f0c1e-0000-4000-8000-000000000003"]);

    private static readonly TaskSnapshot LoneTask = new("7d2f0c1e-0000-4000-8000-000000000004", [], null, []);

    private static readonly WorkerSnapshot Worker = new(
        "w1@demo-1",
        [new("hostname", "\"w1@demo-1\""), new("loadavg", "[0.64, 0.31, 0.13]"), new("pid", "9173"), new("sw_ver", null)],
        [1795431373.5099125, 1795431375.25, 1795431377.0000001],
        Alive: true);

    private static readonly object[] QueryMessages =
    [
        new GetTask(FullTask.Uuid),
        new TaskReply(FullTask.Uuid, FullTask),
        new TaskReply(LoneTask.Uuid, LoneTask),
        new TaskReply("unknown", null),
        new GetWorker("w1@demo-1", 1795431395.564262),
        new WorkerReply("w1@demo-1", Worker),
        new WorkerReply("w2@demo-1", Worker with { Heartbeats = [], Alive = false }),
        new WorkerReply("nobody@nowhere", null),
        new GetTasks(),
        new GetTasks
        {
            State = "SUCCESS", Name = "tasks.add", Worker = "w1@demo-1", TimeField = "succeeded", Since = 1795431300.5, Until = 1795431400.25,
            Search = "h\u00e9", Fresh = true, Sort = "name", Descending = false, Limit = 1000, Offset = 100_000,
        },
        new TasksReply(2, 50, 0, [FullTask, LoneTask]),
        new TasksReply(0, 1, 7, []),
        new GetCounts(),
        new GetCounts { State = "FAILURE", Since = 0, Fresh = true },
        new CountsReply(3, new Dictionary<string, long> { ["SUCCESS"] = 2, ["FAILURE"] = 1 }, new Dictionary<string, long> { ["tasks.add"] = 3 },
            new Dictionary<string, long> { ["w1@demo-1"] = 2, ["w2@demo-1"] = 1 }),
        new CountsReply(0, new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, long>()),
        new GetWorkers(1795431395.564262),
        new WorkersReply([Worker, Worker with { Hostname = "w2@demo-1", Heartbeats = [], Alive = false }]),
        new WorkersReply([]),
        GetStats.Instance,
        new StatsReply("akka.tcp://actormonitor@127.0.0.1:4053", 1000, 3, 2990, 4, 5123, 17, 2, 1, 40, 0,
            new StoreStats("postgres:Host=db;Username=am", 900, 3, 12, 55, 4000, 1.234, 1, 20, 7, Failing: true, LastError: "connection refused"),
            new Dictionary<string, long> { ["InvalidJson"] = 3, ["TooLarge"] = 1 }),
        new StatsReply("akka.tcp://actormonitor@127.0.0.1:4054", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            new StoreStats("memory", 0, 0, 0, 0, 0, 0, 0, 0, 0, Failing: false, LastError: null), new Dictionary<string, long>()),
        new QueryFailed("limit must be in 1..1000", Invalid: true),
        new QueryFailed("the tasks cannot be read now: node did not answer", Invalid: false),
    ];

    [Fact]
    public async Task A_client_system_binds_the_query_messages_to_the_query_serializer()
    {
        var system = ActorSystem.Create("actormonitor", MonitorClient.Config(seedNodes: []));
        try
        {
            foreach (var message in QueryMessages) AssertRoundTrip<QuerySerializer>(system, message);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_node_binds_the_query_messages_and_its_own_to_their_serializers()
    {
        var system = ActorSystem.Create("actormonitor", MonitorConfig.With("actormonitor.journal = memory"));
        try
        {
            foreach (var message in QueryMessages) AssertRoundTrip<QuerySerializer>(system, message);

            var ackTo = system.ActorOf(Props.Empty, "ack-to");
            var taskEvent = new TaskEvent("7d2f0c1e-0000-4000-8000-000000000001", "succeeded", "w1@demo-1", 1795431373.5108163, 72, 1795431373.5112,
                [new("result", "'50'"), new("runtime", "0.00033269499999732943"), new("utf8", "\"h\\u00e9 \u00e9\"")], Id: 0xDEAD_BEEF_0000_0001);
            object[] messages =
            [
                new ApplyTaskEvent(taskEvent.Uuid, 17, taskEvent, Seq: 123_456_789_012),
                new ApplyTaskEvent(taskEvent.Uuid, 18, taskEvent with { Fields = [], Id = 0 }),
                // The event's uuid is written only when it is not the entity's.
                new ApplyTaskEvent("7d2f0c1e-0000-4000-8000-00000000000f", 18, taskEvent),
                new ApplyWorkerEvents("w1@demo-1", 19,
                [
                    new WorkerEvent("heartbeat", 1795431375.25, 1795431375.26, [new("hostname", "\"w1@demo-1\""), new("freq", "2.0"), new("loadavg", "[0.64, 0.31, 0.13]")], Id: 42),
                    new WorkerEvent("succeeded", 1795431373.5108163, 1795431373.5112, [], IsTaskHeartbeat: true, Id: 43),
                ]),
                new ApplyWorkerEvents("w2@demo-1", 20, []),
                new AdoptChild("7d2f0c1e-0000-4000-8000-000000000001", "7d2f0c1e-0000-4000-8000-000000000002", 21, ackTo),
                new AdoptChild("7d2f0c1e-0000-4000-8000-000000000001", "7d2f0c1e-0000-4000-8000-000000000003", 22, ackTo, DuplicateOf: ulong.MaxValue),
                new EventsApplied(23),
                new EventsApplied(24, [1UL, 0xDEAD_BEEF_0000_0001, ulong.MaxValue]),
                new Checkpoint(25),
                new Checkpoint(26, new ReceiverRow("node-2", 1000, 13, 7, 998, [0, 1, 2, 0xFF, (byte)'{', (byte)'}'])),
                new Checkpoint(27, new ReceiverRow("node-3", 0, 0, 0, 0, [])),
                new CheckpointCommitted(28),
                new CheckpointFailed(29, "node akka.tcp://actormonitor@127.0.0.1:4054 did not answer within 10 s"),
                CheckpointNow.Instance,
                CheckpointDone.Instance,
                new FeedPresence("akka.tcp://actormonitor@127.0.0.1:4054"),
                new RelayEvents(
                [
                    new ApplyTaskEvent(taskEvent.Uuid, 30, taskEvent, Seq: 9),
                    new ApplyWorkerEvents("w1@demo-1", 31, [new WorkerEvent("online", 1795431375.25, 1795431375.26, [new("sw_ver", "\"5.3.6\"")], Id: 44)]),
                    new ApplyTaskEvent(taskEvent.Uuid, 32, taskEvent with { Subject = "started" }),
                ]),
                new RelayEvents([]),
                new AppliedBatch([new EventsApplied(33), new EventsApplied(34, [7UL, ulong.MaxValue])]),
                GetLiveTasksByShard.Instance,
                new LiveTasksByShard(new Dictionary<string, int> { ["0"] = 3, ["99"] = 10_000 }),
                new LiveTasksByShard(new Dictionary<string, int>()),
            ];
            foreach (var message in messages) AssertRoundTrip<MonitorSerializer>(system, message);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task Relayed_events_share_one_string_for_a_repeated_short_text_and_a_cut_message_is_refused()
    {
        var system = ActorSystem.Create("actormonitor", MonitorConfig.With("actormonitor.journal = memory"));
        try
        {
            var fields = new KeyValuePair<string, string>[] { new("name", "\"tasks.add\""), new("args", "(" + new string('1', 100) + ",)") };
            var batch = new RelayEvents([new ApplyTaskEvent("u-1", 1, new TaskEvent("u-1", "sent", "client@demo", 1.5, 1, 1.6, fields))]);
            var serializer = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(batch);
            var bytes = serializer.ToBinary(batch);

            var first = ((ApplyTaskEvent)((RelayEvents)serializer.FromBinary(bytes, "rb")).Items[0]).Event;
            var second = ((ApplyTaskEvent)((RelayEvents)serializer.FromBinary(bytes, "rb")).Items[0]).Event;
            Assert.Equal(fields, second.Fields);
            Assert.Same(first.Hostname, second.Hostname);
            Assert.Same(first.Fields[0].Key, second.Fields[0].Key);
            Assert.Same(first.Fields[0].Value, second.Fields[0].Value);
            Assert.NotSame(first.Fields[1].Value, second.Fields[1].Value); // long texts are not kept
            var message = (ApplyTaskEvent)((RelayEvents)serializer.FromBinary(bytes, "rb")).Items[0];
            Assert.Same(message.Uuid, message.Event.Uuid); // written once

            Assert.ThrowsAny<EndOfStreamException>(() => serializer.FromBinary(bytes[..^20], "rb"));
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task Unknown_manifests_are_refused()
    {
        var system = ActorSystem.Create("actormonitor", MonitorConfig.With("actormonitor.journal = memory"));
        try
        {
            var query = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(new GetTask("x"));
            var node = (SerializerWithStringManifest)system.Serialization.FindSerializerFor(CheckpointNow.Instance);
            Assert.Throws<SerializationException>(() => query.FromBinary([], "zz"));
            Assert.Throws<SerializationException>(() => node.FromBinary([], "zz"));
            Assert.Throws<ArgumentException>(() => query.ToBinary("not a query"));
            Assert.Throws<ArgumentException>(() => node.Manifest("not a node message"));
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static void AssertRoundTrip<TSerializer>(ActorSystem system, object message) where TSerializer : Serializer
    {
        var serializer = system.Serialization.FindSerializerFor(message);
        Assert.IsType<TSerializer>(serializer);
        var manifest = Assert.IsAssignableFrom<SerializerWithStringManifest>(serializer).Manifest(message);
        var bytes = serializer.ToBinary(message);
        var copy = system.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.IsType(message.GetType(), copy);
        if (message is AdoptChild adopt)
        {
            // The actor ref comes back as the same actor (path and uid): records compare it by value.
            Assert.Equal(adopt, copy);
            Assert.Equal(adopt.AckTo.Path.Uid, ((AdoptChild)copy).AckTo.Path.Uid);
        }
        else
        {
            // Records holding lists compare them by reference: compare their content, in order.
            Assert.Equal(Content(message), Content(copy));
        }
    }

    private static string Content(object message) => JsonSerializer.Serialize(message, message.GetType());
}
