using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;

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

    private readonly object _gate = new();
    private readonly List<Channel<string>> _listeners = [];

    public int Listeners
    {
        get { lock (_gate) return _listeners.Count; }
    }

    /// <summary>A new listener; dispose the subscription to stop listening.</summary>
    public Subscription Listen(int capacity = 256)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true,
        });
        lock (_gate) _listeners.Add(channel);
        return new Subscription(this, channel);
    }

    /// <summary>One batch (a JSON object) to every listener.</summary>
    public void Publish(string batch)
    {
        lock (_gate)
            foreach (var l in _listeners) l.Writer.TryWrite(batch);
    }

    private void Remove(Channel<string> channel)
    {
        lock (_gate) _listeners.Remove(channel);
        channel.Writer.TryComplete();
    }

    public sealed class Subscription(LiveFeed feed, Channel<string> channel) : IDisposable
    {
        public ChannelReader<string> Reader => channel.Reader;

        public void Dispose() => feed.Remove(channel);
    }
}

/// <summary>Subscribes to <see cref="LiveFeed.Topic"/> and hands every batch to this process's <see cref="LiveFeed"/>.</summary>
public sealed class LiveFeedSubscriber : ReceiveActor
{
    public LiveFeedSubscriber(LiveFeed feed)
    {
        Receive<string>(feed.Publish);
        Receive<SubscribeAck>(_ => { });
    }

    protected override void PreStart() => DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(LiveFeed.Topic, Self));

    public static Props Props(LiveFeed feed) => Akka.Actor.Props.Create(() => new LiveFeedSubscriber(feed));
}
