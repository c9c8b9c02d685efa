using Akka.Actor;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// The relay's own delivery ids, each naming the receiver and the receiver's delivery it stands
/// for. An answer that never comes (its entity's node was lost; the receiver sends the events
/// again under new ids) is forgotten after <see cref="Expiry"/> to two sweeps.
/// </summary>
public sealed class RelayRoutes
{
    public static readonly TimeSpan Expiry = TimeSpan.FromMinutes(1);

    private Dictionary<long, (IActorRef Receiver, long Delivery)> _current = new();
    private Dictionary<long, (IActorRef Receiver, long Delivery)> _older = new();
    private long _ids;

    public int Count => _current.Count + _older.Count;

    public long Add(IActorRef receiver, long delivery)
    {
        _current[++_ids] = (receiver, delivery);
        return _ids;
    }

    public bool TryComplete(long id, out IActorRef receiver, out long delivery)
    {
        if (_current.Remove(id, out var route) || _older.Remove(id, out route))
        {
            (receiver, delivery) = route;
            return true;
        }
        (receiver, delivery) = (ActorRefs.Nobody, 0);
        return false;
    }

    /// <summary>Forgets the routes older than the last sweep.</summary>
    public void Sweep()
    {
        _older = _current;
        _current = new();
    }
}
