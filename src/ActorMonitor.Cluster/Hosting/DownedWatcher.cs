using ActorMonitor.Cluster.Persistence;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Remote;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>
/// Tells the node that the cluster downed it (the node keeps the first reason): it saw itself downed or removed, another
/// node quarantined it, the store refused its writes (<see cref="NodeFenced"/>), or its state
/// keeper or event receiver failed (<see cref="NodeFailed"/>: it can no longer say what is durable). Its shards may
/// have moved, so the node must stop consuming at once (unacked messages go back to the broker
/// for the other nodes) and leave, without a last checkpoint.
/// </summary>
public sealed class DownedWatcher : ReceiveActor
{
    private readonly Action<string> _downed;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);

    public DownedWatcher(Action<string> downed)
    {
        _downed = downed;
        Receive<ClusterEvent.MemberDowned>(d => d.Member.UniqueAddress.Equals(_cluster.SelfUniqueAddress),
            _ => _downed("the cluster downed this node"));
        // After a graceful leave the node is removed too, once it stopped consuming: not a down.
        Receive<ClusterEvent.MemberRemoved>(r => r.PreviousStatus == MemberStatus.Down && r.Member.UniqueAddress.Equals(_cluster.SelfUniqueAddress),
            _ => _downed("the cluster removed this node"));
        Receive<NodeFenced>(f => _downed(f.Reason));
        Receive<NodeFailed>(f => _downed(f.Reason));
        Receive<ThisActorSystemQuarantinedEvent>(q => _downed($"node {q.RemoteAddress} quarantined this node"));
        ReceiveAny(_ => { });
    }

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.MemberDowned), typeof(ClusterEvent.MemberRemoved));
        Context.System.EventStream.Subscribe(Self, typeof(NodeFenced));
        Context.System.EventStream.Subscribe(Self, typeof(NodeFailed));
        Context.System.EventStream.Subscribe(Self, typeof(ThisActorSystemQuarantinedEvent));
    }

    protected override void PostStop()
    {
        _cluster.Unsubscribe(Self);
        Context.System.EventStream.Unsubscribe(Self);
    }

    public static Props Props(Action<string> downed) => Akka.Actor.Props.Create(() => new DownedWatcher(downed));
}
