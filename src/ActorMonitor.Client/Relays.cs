using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Client;

namespace ActorMonitor.Client;

/// <summary>
/// A member's way to the monitor nodes' query endpoints: forwards each message (the sender kept,
/// so the node answers the asker) to the next Up, reachable monitor node in turn; holds messages
/// while there is none (the system has not joined yet).
/// </summary>
internal sealed class MemberRelay : ReceiveActor, IWithUnboundedStash
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly List<Address> _nodes = [];
    private int _next;

    public IStash Stash { get; set; } = null!;

    public MemberRelay()
    {
        Receive<ClusterEvent.CurrentClusterState>(state =>
        {
            _nodes.Clear();
            _nodes.AddRange(state.Members.Where(m => IsMonitor(m) && m.Status == MemberStatus.Up && !state.Unreachable.Contains(m)).Select(m => m.Address));
            Ready();
        });
        Receive<ClusterEvent.MemberUp>(e => Add(e.Member));
        Receive<ClusterEvent.ReachableMember>(e =>
        {
            if (e.Member.Status == MemberStatus.Up) Add(e.Member);
        });
        Receive<ClusterEvent.UnreachableMember>(e => _nodes.Remove(e.Member.Address));
        Receive<ClusterEvent.IMemberEvent>(e =>
        {
            // Leaving, exiting, downed or removed: no longer asked.
            if (e is not ClusterEvent.MemberJoined and not ClusterEvent.MemberWeaklyUp) _nodes.Remove(e.Member.Address);
        });
        ReceiveAny(message =>
        {
            if (_nodes.Count == 0)
            {
                Stash.Stash();
                return;
            }
            _next = (_next + 1) % _nodes.Count;
            Context.ActorSelection(new RootActorPath(_nodes[_next]) / "user" / "query-api").Tell(message, Sender);
        });
    }

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private static bool IsMonitor(Member m) => m.HasRole(MonitorClient.MonitorRole);

    private void Add(Member m)
    {
        if (!IsMonitor(m) || _nodes.Contains(m.Address)) return;
        _nodes.Add(m.Address);
        Ready();
    }

    private void Ready()
    {
        if (_nodes.Count > 0) Stash.UnstashAll();
    }
}

/// <summary>Sends each message through the ClusterClient to the actor registered at <paramref name="path"/> on some monitor node, the sender kept.</summary>
internal sealed class ClusterClientRelay : ReceiveActor
{
    public ClusterClientRelay(IActorRef clusterClient, string path) =>
        ReceiveAny(message => clusterClient.Tell(new ClusterClient.Send(path, message), Sender));
}
