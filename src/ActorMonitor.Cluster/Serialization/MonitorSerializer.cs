using System.Runtime.Serialization;
using ActorMonitor.Celery.Events;
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
        _ => throw new ArgumentException($"cannot serialize {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj) => Wire.Write(w =>
    {
        switch (obj)
        {
            case ApplyTaskEvent m:
                WriteApplyTaskEvent(w, m);
                break;
            case ApplyWorkerEvents m:
                WriteApplyWorkerEvents(w, m);
                break;
            case RelayEvents m:
                w.Write(m.Items.Count);
                foreach (var item in m.Items)
                {
                    w.Write(item is ApplyTaskEvent);
                    if (item is ApplyTaskEvent t) WriteApplyTaskEvent(w, t);
                    else WriteApplyWorkerEvents(w, (ApplyWorkerEvents)item);
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
            default:
                throw new ArgumentException($"cannot serialize {obj.GetType()}");
        }
    });

    public override object FromBinary(byte[] bytes, string manifest) => Wire.Read<object>(bytes, r => manifest switch
    {
        "te" => ReadApplyTaskEvent(r),
        "we" => ReadApplyWorkerEvents(r),
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
        _ => throw new SerializationException($"unknown manifest '{manifest}'"),
    });

    private static RelayEvents ReadRelayEvents(BinaryReader r)
    {
        var items = new object[r.ReadInt32()];
        for (var i = 0; i < items.Length; i++) items[i] = r.ReadBoolean() ? ReadApplyTaskEvent(r) : ReadApplyWorkerEvents(r);
        return new RelayEvents(items);
    }

    private static AppliedBatch ReadAppliedBatch(BinaryReader r)
    {
        var answers = new EventsApplied[r.ReadInt32()];
        for (var i = 0; i < answers.Length; i++) answers[i] = ReadEventsApplied(r);
        return new AppliedBatch(answers);
    }

    private static void WriteApplyTaskEvent(BinaryWriter w, ApplyTaskEvent m)
    {
        w.Write(m.Uuid);
        w.Write(m.DeliveryId);
        w.Write(m.Seq);
        WriteTaskEvent(w, m.Event, m.Uuid);
    }

    private static void WriteApplyWorkerEvents(BinaryWriter w, ApplyWorkerEvents m)
    {
        w.Write(m.Hostname);
        w.Write(m.DeliveryId);
        w.Write(m.Events.Count);
        foreach (var e in m.Events) WriteWorkerEvent(w, e);
    }

    private static void WriteEventsApplied(BinaryWriter w, EventsApplied m)
    {
        w.Write(m.DeliveryId);
        w.Write(m.Duplicates?.Count ?? 0);
        if (m.Duplicates is not null) foreach (var id in m.Duplicates) w.Write(id);
    }

    private static ApplyTaskEvent ReadApplyTaskEvent(BinaryReader r)
    {
        var uuid = r.ReadString();
        var delivery = r.ReadInt64();
        var seq = r.ReadInt64();
        return new ApplyTaskEvent(uuid, delivery, ReadTaskEvent(r, uuid), seq);
    }

    private static ApplyWorkerEvents ReadApplyWorkerEvents(BinaryReader r)
    {
        var hostname = r.ReadShared(Strings);
        var delivery = r.ReadInt64();
        var events = new WorkerEvent[r.ReadInt32()];
        for (var i = 0; i < events.Length; i++) events[i] = ReadWorkerEvent(r);
        return new ApplyWorkerEvents(hostname, delivery, events);
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

    /// <param name="uuid">The entity's id, written just before: the event's own uuid is written only when it differs.</param>
    private static void WriteTaskEvent(BinaryWriter w, TaskEvent e, string uuid)
    {
        var other = e.Uuid != uuid;
        w.Write(other);
        if (other) w.Write(e.Uuid);
        w.Write(e.Subject);
        w.Write(e.Hostname);
        w.Write(e.Timestamp);
        w.Write(e.Clock);
        w.Write(e.LocalReceived);
        WriteRawFields(w, e.Fields);
        w.Write(e.Id);
    }

    private static TaskEvent ReadTaskEvent(BinaryReader r, string uuid) =>
        new(r.ReadBoolean() ? r.ReadString() : uuid, r.ReadShared(Strings), r.ReadShared(Strings), r.ReadDouble(), r.ReadInt64(), r.ReadDouble(), ReadRawFields(r),
            r.ReadUInt64());

    private static void WriteWorkerEvent(BinaryWriter w, WorkerEvent e)
    {
        w.Write(e.Subject);
        w.Write(e.Timestamp);
        w.Write(e.LocalReceived);
        WriteRawFields(w, e.Fields);
        w.Write(e.IsTaskHeartbeat);
        w.Write(e.Id);
    }

    private static WorkerEvent ReadWorkerEvent(BinaryReader r) =>
        new(r.ReadShared(Strings), r.ReadDouble(), r.ReadDouble(), ReadRawFields(r), r.ReadBoolean(), r.ReadUInt64());

    private static void WriteRawFields(BinaryWriter w, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        w.Write(fields.Count);
        foreach (var (k, v) in fields)
        {
            w.Write(k);
            w.Write(v);
        }
    }

    private static KeyValuePair<string, string>[] ReadRawFields(BinaryReader r)
    {
        var fields = new KeyValuePair<string, string>[r.ReadInt32()];
        for (var i = 0; i < fields.Length; i++) fields[i] = new(r.ReadShared(Strings), r.ReadShared(Strings));
        return fields;
    }

    // Field names, subjects, hostnames and small values repeat in every event: one string each per
    // thread that deserializes, instead of new ones for every event relayed.
    [ThreadStatic] private static Utf8Interner? _strings;

    private static Utf8Interner Strings => _strings ??= new Utf8Interner();
}
