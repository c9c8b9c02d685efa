using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using ActorMonitor.Client;

namespace ActorMonitor.Cluster.Metrics;

/// <summary>
/// The live updates of the whole cluster, for this process's listeners (the server-sent events
/// stream). Every node's metrics actor publishes its batches on one distributed pub-sub topic;
/// each node's <see cref="LiveFeedSubscriber"/> hands them to this feed. A listener that falls
/// behind loses its oldest batches, never slows anyone down.
/// </summary>
public sealed class LiveFeed
{
    /// <summary>The distributed pub-sub topic every node publishes its update batches on.</summary>
    public const string Topic = "actormonitor-live";

    /// <summary>A batch of task and worker changes, as every node's metrics actor publishes it.</summary>
    public const string UpdateEvent = "update";

    /// <summary>The newest chart buckets of this node's <see cref="ChartActor"/>.</summary>
    public const string ChartEvent = "chart";

    private readonly object _gate = new();
    private readonly List<Channel<LiveMessage>> _listeners = [];
    private TaskCompletionSource _everyMemberReaches = Reached();

    public int Listeners
    {
        get { lock (_gate) return _listeners.Count; }
    }

    /// <summary>A new listener; dispose the subscription to stop listening.</summary>
    public Subscription Listen(int capacity = 256)
    {
        var channel = Channel.CreateBounded<LiveMessage>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true,
        });
        lock (_gate) _listeners.Add(channel);
        return new Subscription(this, channel);
    }

    /// <summary>One update batch (a JSON object) to every listener.</summary>
    public void Publish(string batch) => Publish(UpdateEvent, batch);

    /// <summary>One message (<paramref name="name"/>: its kind, <paramref name="data"/>: a JSON object) to every listener.</summary>
    public void Publish(string name, string data)
    {
        var message = new LiveMessage(name, data);
        lock (_gate)
            foreach (var l in _listeners) l.Writer.TryWrite(message);
    }

    /// <summary>
    /// Whether every monitor member's batches are known to reach this node (see
    /// <see cref="FeedReach"/>): completes when they are, within <paramref name="timeout"/>; false
    /// when the time ran out first.
    /// </summary>
    public async Task<bool> EveryMemberReachesAsync(TimeSpan timeout, CancellationToken ct)
    {
        Task reached;
        lock (_gate) reached = _everyMemberReaches.Task;
        try
        {
            await reached.WaitAsync(timeout, ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Set by this node's <see cref="LiveFeedSubscriber"/> as members come, are heard from and go.</summary>
    public void SetEveryMemberReaches(bool reaches)
    {
        lock (_gate)
        {
            if (reaches) _everyMemberReaches.TrySetResult();
            else if (_everyMemberReaches.Task.IsCompleted) _everyMemberReaches = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private static TaskCompletionSource Reached()
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        reached.SetResult();
        return reached;
    }

    private void Remove(Channel<LiveMessage> channel)
    {
        lock (_gate) _listeners.Remove(channel);
        channel.Writer.TryComplete();
    }

    public sealed class Subscription(LiveFeed feed, Channel<LiveMessage> channel) : IDisposable
    {
        public ChannelReader<LiveMessage> Reader => channel.Reader;

        public void Dispose() => feed.Remove(channel);
    }
}

/// <summary>What a listener reads: the kind of message (<see cref="LiveFeed.UpdateEvent"/>, <see cref="LiveFeed.ChartEvent"/>) and its JSON.</summary>
public sealed record LiveMessage(string Event, string Data);

/// <summary>
/// Which monitor members' batches are known to reach this node. Distributed pub-sub spreads a
/// new subscriber to the other nodes' mediators by gossip, so for about a second after a node
/// joins, what another node publishes may not reach it. A member's presence heard on the topic
/// proves that its mediator knows this node's subscriber, and so that its batches arrive too.
/// </summary>
public sealed class FeedReach
{
    private readonly HashSet<string> _up = new(StringComparer.Ordinal);
    private readonly HashSet<string> _heard = new(StringComparer.Ordinal);

    /// <summary>Every up member has been heard from (true before this node sees any member up).</summary>
    public bool EveryMemberReaches => _up.IsSubsetOf(_heard);

    public void MemberUp(string node) => _up.Add(node);

    public void Heard(string node) => _heard.Add(node);

    /// <summary>A member that left: a node that comes back at the same address must be heard again.</summary>
    public void MemberRemoved(string node)
    {
        _up.Remove(node);
        _heard.Remove(node);
    }
}

/// <summary>Said by every node's <see cref="LiveFeedSubscriber"/> on <see cref="LiveFeed.Topic"/>: the node (its address) whose batches reach the hearer.</summary>
public sealed record FeedPresence(string Node);

/// <summary>
/// Subscribes to <see cref="LiveFeed.Topic"/> and hands every batch to this process's
/// <see cref="LiveFeed"/>. It also says this node's presence on the topic every
/// <see cref="PresenceInterval"/>, and follows the monitor members (<see cref="FeedReach"/>), so
/// a new listener can wait until the batches of every member reach it.
/// </summary>
public sealed class LiveFeedSubscriber : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan PresenceInterval = TimeSpan.FromSeconds(1);

    private readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly FeedReach _reach = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public LiveFeedSubscriber(LiveFeed feed)
    {
        var self = _cluster.SelfAddress.ToString();
        Receive<string>(feed.Publish);
        Receive<SubscribeAck>(_ => { });
        Receive<SayPresence>(_ => _mediator.Tell(new Publish(LiveFeed.Topic, new FeedPresence(self))));
        Receive<FeedPresence>(p => Update(() => _reach.Heard(p.Node)));
        Receive<ClusterEvent.MemberUp>(e => Update(() =>
        {
            if (e.Member.HasRole(MonitorClient.MonitorRole)) _reach.MemberUp(e.Member.Address.ToString());
        }));
        Receive<ClusterEvent.MemberRemoved>(e => Update(() => _reach.MemberRemoved(e.Member.Address.ToString())));
        Receive<ClusterEvent.IMemberEvent>(_ => { });

        void Update(Action change)
        {
            change();
            feed.SetEveryMemberReaches(_reach.EveryMemberReaches);
        }
    }

    protected override void PreStart()
    {
        _mediator.Tell(new Subscribe(LiveFeed.Topic, Self));
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        Self.Tell(SayPresence.Instance);
        Timers.StartPeriodicTimer("presence", SayPresence.Instance, PresenceInterval);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    public static Props Props(LiveFeed feed) => Akka.Actor.Props.Create(() => new LiveFeedSubscriber(feed));

    private sealed class SayPresence
    {
        public static readonly SayPresence Instance = new();
    }
}
