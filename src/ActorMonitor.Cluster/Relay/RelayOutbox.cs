using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// A receiver's events for other nodes, gathered per node for a few milliseconds (or until a
/// node's batch is as large as one remote message should be), then sent to that node's
/// <see cref="EventRelay"/> as one message.
/// </summary>
public sealed class RelayOutbox
{
    /// <summary>
    /// Below the runtime's large-object size (85,000 bytes): every copy of a batch on its way
    /// (serializer, protobuf, socket buffer) would otherwise be a large object, collected only
    /// with the oldest generation.
    /// </summary>
    public const int MaxBatchBytes = 64 * 1024;

    private readonly Dictionary<Address, (List<object> Items, int Bytes)> _byNode = new();

    public bool IsEmpty => _byNode.Count == 0;

    /// <summary>Adds an event for <paramref name="node"/>; returns a batch that is full and must go now.</summary>
    public List<object>? Add(Address node, object item)
    {
        var size = Size(item);
        _byNode.TryGetValue(node, out var batch);
        batch.Items ??= [];
        batch.Items.Add(item);
        batch.Bytes += size;
        if (batch.Bytes < MaxBatchBytes)
        {
            _byNode[node] = batch;
            return null;
        }
        _byNode.Remove(node);
        return batch.Items;
    }

    public IReadOnlyList<(Address Node, List<object> Items)> Drain()
    {
        var all = _byNode.Select(kv => (kv.Key, kv.Value.Items)).ToList();
        _byNode.Clear();
        return all;
    }

    /// <summary>
    /// An upper bound of the wire size (<see cref="Serialization.MonitorSerializer"/>) of an ASCII
    /// event, which Celery's are but for an odd name or argument: it must not undercount, or the
    /// batch and each of its copies on the way grow past the large-object size.
    /// </summary>
    private static int Size(object item) => item switch
    {
        ApplyTaskEvent t => 56 + 2 * t.Uuid.Length + t.Event.Subject.Length + t.Event.Hostname.Length + FieldBytes(t.Event.Fields),
        ApplyWorkerEvents w => 24 + w.Hostname.Length + w.Events.Sum(e => 40 + e.Subject.Length + FieldBytes(e.Fields)),
        _ => 64,
    };

    private static int FieldBytes(IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        var n = 4;
        foreach (var (k, v) in fields) n += k.Length + v.Length + 4;
        return n;
    }
}
