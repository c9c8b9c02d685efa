using ActorMonitor.Cluster.Tasks;
using ActorMonitor.Cluster.Workers;
using Akka.Actor;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// Where a receiver's entity messages go: to the local shard region, or, when the entity's shard
/// lives on another monitor node, into that node's next batch for its <see cref="EventRelay"/>
/// (sent by <see cref="Flush"/>, which the receiver calls <see cref="RelayRouting.GatherFor"/> after the first).
/// </summary>
public sealed class EventRouter(
    IActorRef tasks,
    IActorRef workers,
    RelayRouting? routing,
    Func<Address, bool> isOtherMonitorNode,
    Func<Address, IActorRef> relayAt,
    Action scheduleFlush,
    Action askHomes)
{
    private static readonly TimeSpan AskAtMostEvery = TimeSpan.FromMilliseconds(250);

    private readonly RelayOutbox _outbox = new();
    private readonly Dictionary<Address, IActorRef> _relays = new();
    private bool _flushScheduled;
    private DateTime _homesAskedAt = DateTime.MinValue;

    /// <summary>Entity messages sent through relays so far.</summary>
    public long Relayed { get; private set; }

    /// <summary>Task and worker shards whose node is known.</summary>
    public int KnownHomes => (routing?.Tasks.Count ?? 0) + (routing?.Workers.Count ?? 0);

    public void ToTask(ApplyTaskEvent m) => Route(tasks, routing?.Tasks, m.Uuid, m);

    public void ToWorker(ApplyWorkerEvents m) => Route(workers, routing?.Workers, m.Hostname, m);

    /// <summary>Sends every node's batch.</summary>
    public void Flush()
    {
        _flushScheduled = false;
        foreach (var (node, items) in _outbox.Drain()) Send(node, items);
    }

    /// <summary>Asks where the shards live now (on the receiver's timer, and on meeting an unknown shard).</summary>
    public void AskHomes()
    {
        _homesAskedAt = DateTime.UtcNow;
        askHomes();
    }

    /// <summary>The node was lost or left: its shards move, wherever to.</summary>
    public void Forget(Address node)
    {
        routing?.Tasks.Forget(node);
        routing?.Workers.Forget(node);
    }

    private void Route(IActorRef region, ShardHomes? homes, string entityId, object message)
    {
        var home = homes?.Of(entityId);
        if (home is null || !isOtherMonitorNode(home))
        {
            // A shard not seen yet (new, or moved from a lost node): learn its home soon.
            if (home is null && homes is not null && DateTime.UtcNow - _homesAskedAt > AskAtMostEvery) AskHomes();
            region.Tell(message);
            return;
        }
        Relayed++;
        if (_outbox.Add(home, message) is { } full) Send(home, full);
        else if (!_flushScheduled)
        {
            _flushScheduled = true;
            scheduleFlush();
        }
    }

    private void Send(Address node, List<object> items)
    {
        if (!_relays.TryGetValue(node, out var relay)) _relays[node] = relay = relayAt(node);
        relay.Tell(new RelayEvents(items));
    }
}
