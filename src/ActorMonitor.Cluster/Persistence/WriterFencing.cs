using Akka.Cluster;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// Which downed monitor nodes this node's keeper has fenced in the store, and which it is fencing.
/// The keeper hears a member downed before its shards can move (removal waits until every
/// reachable member has seen the down), and holds every row load until the fence is written: a
/// new owner then never reads a row the downed node could still overwrite.
/// A node that was downed itself fences no one: after a stall its own split-brain resolver may
/// down the healthy majority, and that decision must not lock the survivors out of the store.
/// </summary>
public sealed class WriterFencing(UniqueAddress self, Func<bool> selfDowned)
{
    private readonly HashSet<UniqueAddress> _fencing = [];
    private readonly HashSet<UniqueAddress> _fenced = [];

    /// <summary>This node's incarnation as its commits name it.</summary>
    public string Self { get; } = Incarnation(self);

    /// <summary>Loads wait while a fence is being written.</summary>
    public bool HoldsLoads => _fencing.Count > 0;

    public static string Incarnation(UniqueAddress node) => $"{node.Address}#{node.Uid}";

    /// <summary>True when <paramref name="member"/> is another monitor node not fenced yet: the caller writes its fence.</summary>
    public bool Begin(Member member)
    {
        if (!member.HasRole(Client.MonitorClient.MonitorRole) || member.UniqueAddress.Equals(self) || selfDowned()) return false;
        return !_fenced.Contains(member.UniqueAddress) && _fencing.Add(member.UniqueAddress);
    }

    public void Done(UniqueAddress node)
    {
        _fencing.Remove(node);
        _fenced.Add(node);
    }
}

/// <summary>Published on the event stream when this node's writes were refused: the cluster downed it.</summary>
public sealed record NodeFenced(string Reason);

internal sealed record FenceWritten(Member Member, Exception? Error);

internal sealed record RetryFence(Member Member);
