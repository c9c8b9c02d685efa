using System.Runtime.Serialization;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;
using ActorMonitor.Client;
using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;

namespace ActorMonitor.Cluster.Serialization;

/// <summary>
/// Events for entities on another node, in one message of the <see cref="MonitorSerializer"/>:
/// a short text (a field name, a hostname, a uuid, a small value) is written once per message and
/// then by its number, since a relayed batch repeats the same few dozen texts in every event.
/// A text is written as a number n: 0 = a long text follows, 1 = a short text follows (it gets
/// the next number), n ≥ 2 = the short text numbered n − 2.
/// </summary>
internal sealed class EntityMessageWriter(BinaryWriter w)
{
    /// <summary>Texts up to this length are numbered; longer ones (arguments, results) are written each time.</summary>
    public const int MaxNumbered = 48;

    private Dictionary<string, int>? _numbers;

    public void Task(ApplyTaskEvent m)
    {
        Text(m.Uuid);
        w.Write(m.DeliveryId);
        w.Write(m.Seq);
        var e = m.Event;
        // The event's uuid is the entity's but for a message built otherwise.
        var other = e.Uuid != m.Uuid;
        w.Write(other);
        if (other) Text(e.Uuid);
        Text(e.Subject);
        Text(e.Hostname);
        w.Write(e.Timestamp);
        w.Write(e.Clock);
        w.Write(e.LocalReceived);
        Fields(e.Fields);
        w.Write(e.Id);
    }

    public void Worker(ApplyWorkerEvents m)
    {
        Text(m.Hostname);
        w.Write(m.DeliveryId);
        w.Write7BitEncodedInt(m.Events.Count);
        foreach (var e in m.Events)
        {
            Text(e.Subject);
            w.Write(e.Timestamp);
            w.Write(e.LocalReceived);
            Fields(e.Fields);
            w.Write(e.IsTaskHeartbeat);
            w.Write(e.Id);
        }
    }

    private void Fields(IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        w.Write7BitEncodedInt(fields.Count);
        foreach (var (k, v) in fields)
        {
            Text(k);
            Text(v);
        }
    }

    private void Text(string s)
    {
        if (s.Length > MaxNumbered)
        {
            w.Write7BitEncodedInt(0);
            w.Write(s);
            return;
        }
        _numbers ??= new Dictionary<string, int>(StringComparer.Ordinal);
        if (_numbers.TryGetValue(s, out var n))
        {
            w.Write7BitEncodedInt(n + 2);
            return;
        }
        _numbers[s] = _numbers.Count;
        w.Write7BitEncodedInt(1);
        w.Write(s);
    }
}

/// <summary>Reads what <see cref="EntityMessageWriter"/> wrote; a short text's first occurrence comes from the thread's shared strings.</summary>
internal sealed class EntityMessageReader(BinaryReader r)
{
    // Field names, subjects, hostnames and small values repeat message after message: one string
    // each per thread that deserializes, instead of new ones for every event relayed.
    [ThreadStatic] private static Utf8Interner? _shared;

    private readonly Utf8Interner _strings = _shared ??= new Utf8Interner();
    private readonly List<string> _numbered = [];

    public ApplyTaskEvent Task()
    {
        var uuid = Text();
        var delivery = r.ReadInt64();
        var seq = r.ReadInt64();
        var eventUuid = r.ReadBoolean() ? Text() : uuid;
        var ev = new TaskEvent(eventUuid, Text(), Text(), r.ReadDouble(), r.ReadInt64(), r.ReadDouble(), Fields(), r.ReadUInt64());
        return new ApplyTaskEvent(uuid, delivery, ev, seq);
    }

    public ApplyWorkerEvents Worker()
    {
        var hostname = Text();
        var delivery = r.ReadInt64();
        var events = new WorkerEvent[Count()];
        for (var i = 0; i < events.Length; i++)
            events[i] = new WorkerEvent(Text(), r.ReadDouble(), r.ReadDouble(), Fields(), r.ReadBoolean(), r.ReadUInt64());
        return new ApplyWorkerEvents(hostname, delivery, events);
    }

    private KeyValuePair<string, string>[] Fields()
    {
        var fields = new KeyValuePair<string, string>[Count()];
        for (var i = 0; i < fields.Length; i++) fields[i] = new(Text(), Text());
        return fields;
    }

    private int Count()
    {
        var n = r.Read7BitEncodedInt();
        return n >= 0 && n <= r.BaseStream.Length - r.BaseStream.Position ? n : throw new SerializationException($"a count of {n} in a message of {r.BaseStream.Length} bytes");
    }

    private string Text()
    {
        var n = r.Read7BitEncodedInt();
        switch (n)
        {
            case 0:
                return r.ReadString();
            case 1:
                var s = r.ReadShared(_strings);
                _numbered.Add(s);
                return s;
            default:
                return n - 2 < _numbered.Count ? _numbered[n - 2] : throw new SerializationException($"text number {n - 2} before it was written");
        }
    }
}
