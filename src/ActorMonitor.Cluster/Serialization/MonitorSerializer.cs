using System.Runtime.Serialization;
using ActorMonitor.Celery.State;
using ActorMonitor.Client;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using ActorMonitor.Cluster.Relay;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using ActorMonitor.Store;
using Akka.Actor;
using Akka.Serialization;

namespace ActorMonitor.Cluster.Serialization;

/// <summary>
/// The wire format of what monitor nodes tell each other: events for entities on other nodes,
/// their acknowledgements, the cluster-wide checkpoint, and the live feed's presence. Binary: every event crosses the
/// network once when the receiver and the entity live on different nodes.
/// </summary>
public sealed class MonitorSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => 727_003;

    public override string Manifest(object o) => o switch
    {
        ApplyTaskEvent => "te",
        ApplyWorkerEvents => "we",
        AdoptChild => "ac",
        EventsApplied => "ea",
        Checkpoint => "cp",
        CheckpointCommitted => "cc",
        CheckpointFailed => "cf",
        CheckpointNow => "cn",
        CheckpointDone => "cd",
        FeedPresence => "fp",
        RelayEvents => "rb",
        AppliedBatch => "ab",
        GetLiveTasksByShard => "lq",
        LiveTasksByShard => "ls",
        _ => throw new ArgumentException($"cannot serialize {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj) => Wire.Write(w =>
    {
        switch (obj)
        {
            case ApplyTaskEvent m:
                new EntityMessageWriter(w).Task(m);
                break;
            case ApplyWorkerEvents m:
                new EntityMessageWriter(w).Worker(m);
                break;
            case RelayEvents m:
                var events = new EntityMessageWriter(w);
                w.Write(m.Items.Count);
                foreach (var item in m.Items)
                {
                    w.Write(item is ApplyTaskEvent);
                    if (item is ApplyTaskEvent t) events.Task(t);
                    else events.Worker((ApplyWorkerEvents)item);
                }
                break;
            case AppliedBatch m:
                w.Write(m.Answers.Count);
                foreach (var a in m.Answers) WriteEventsApplied(w, a);
                break;
            case AdoptChild m:
                w.Write(m.Uuid);
                w.Write(m.ChildUuid);
                w.Write(m.DeliveryId);
                w.Write(Akka.Serialization.Serialization.SerializedActorPath(m.AckTo));
                w.Write(m.DuplicateOf);
                break;
            case EventsApplied m:
                WriteEventsApplied(w, m);
                break;
            case Checkpoint m:
                w.Write(m.Id);
                w.Write(m.Receiver is not null);
                if (m.Receiver is { } r)
                {
                    w.Write(r.NodeName);
                    w.Write(r.Messages);
                    w.Write(r.RejectedMessages);
                    w.Write(r.OtherEvents);
                    w.Write(r.Cut);
                    w.Write(r.Checkpoint.Length);
                    w.Write(r.Checkpoint);
                }
                break;
            case CheckpointCommitted m:
                w.Write(m.Id);
                break;
            case CheckpointFailed m:
                w.Write(m.Id);
                w.Write(m.Reason);
                break;
            case CheckpointNow or CheckpointDone:
                break;
            case FeedPresence m:
                w.Write(m.Node);
                break;
            case GetLiveTasksByShard:
                break;
            case LiveTasksByShard m:
                w.Write(m.Counts.Count);
                foreach (var (shard, count) in m.Counts)
                {
                    w.Write(shard);
                    w.Write(count);
                }
                break;
            default:
                throw new ArgumentException($"cannot serialize {obj.GetType()}");
        }
    });

    public override object FromBinary(byte[] bytes, string manifest) => Wire.Read<object>(bytes, r => manifest switch
    {
        "te" => new EntityMessageReader(r).Task(),
        "we" => new EntityMessageReader(r).Worker(),
        "ac" => new AdoptChild(r.ReadString(), r.ReadString(), r.ReadInt64(), system.Provider.ResolveActorRef(r.ReadString()), r.ReadUInt64()),
        "ea" => ReadEventsApplied(r),
        "cp" => new Checkpoint(r.ReadInt64(), r.ReadBoolean()
            ? new ReceiverRow(r.ReadString(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadBytes(r.ReadInt32()))
            : null),
        "cc" => new CheckpointCommitted(r.ReadInt64()),
        "cf" => new CheckpointFailed(r.ReadInt64(), r.ReadString()),
        "cn" => CheckpointNow.Instance,
        "cd" => CheckpointDone.Instance,
        "fp" => new FeedPresence(r.ReadString()),
        "rb" => ReadRelayEvents(r),
        "ab" => ReadAppliedBatch(r),
        "lq" => GetLiveTasksByShard.Instance,
        "ls" => ReadLiveTasks(r),
        _ => throw new SerializationException($"unknown manifest '{manifest}'"),
    });

    private static RelayEvents ReadRelayEvents(BinaryReader r)
    {
        var events = new EntityMessageReader(r);
        var n = r.ReadInt32();
        if (n < 0 || n > r.BaseStream.Length) throw new SerializationException($"{n} relayed events in a message of {r.BaseStream.Length} bytes");
        var items = new object[n];
        for (var i = 0; i < items.Length; i++) items[i] = r.ReadBoolean() ? events.Task() : events.Worker();
        return new RelayEvents(items);
    }

    private static LiveTasksByShard ReadLiveTasks(BinaryReader r)
    {
        var n = r.ReadInt32();
        if (n < 0 || n > r.BaseStream.Length) throw new SerializationException($"{n} shards in a message of {r.BaseStream.Length} bytes");
        var counts = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++) counts[r.ReadString()] = r.ReadInt32();
        return new LiveTasksByShard(counts);
    }

    private static AppliedBatch ReadAppliedBatch(BinaryReader r)
    {
        var answers = new EventsApplied[r.ReadInt32()];
        for (var i = 0; i < answers.Length; i++) answers[i] = ReadEventsApplied(r);
        return new AppliedBatch(answers);
    }

    private static void WriteEventsApplied(BinaryWriter w, EventsApplied m)
    {
        w.Write(m.DeliveryId);
        w.Write(m.Duplicates?.Count ?? 0);
        if (m.Duplicates is not null) foreach (var id in m.Duplicates) w.Write(id);
    }

    private static EventsApplied ReadEventsApplied(BinaryReader r)
    {
        var delivery = r.ReadInt64();
        var n = r.ReadInt32();
        if (n == 0) return new EventsApplied(delivery);
        var ids = new ulong[n];
        for (var i = 0; i < n; i++) ids[i] = r.ReadUInt64();
        return new EventsApplied(delivery, ids);
    }
}
