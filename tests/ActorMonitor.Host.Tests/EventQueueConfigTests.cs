using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Rabbit;

namespace ActorMonitor.Host.Tests;

/// <summary>The event queue's settings read from HOCON, and the queue Celery's way they declare.</summary>
public class EventQueueConfigTests
{
    private static EventQueueSettings Load(string hocon = "") => EventQueueConfig.Read(MonitorConfig.With(hocon));

    [Fact]
    public void Exclusive_and_durable_together_are_refused_as_celery_5_6_does()
    {
        var ex = Assert.Throws<BrokerConfigurationException>(() => Load("actormonitor.event-queue { exclusive = on, durable = on }"));
        Assert.Contains("Queue cannot be both exclusive and durable", ex.Message);
    }

    [Fact]
    public void A_shared_queue_cannot_be_exclusive()
    {
        var ex = Assert.Throws<BrokerConfigurationException>(() => Load("actormonitor.event-queue { exclusive = on, node-id = monitor }"));
        Assert.Contains("shared", ex.Message);
    }

    [Fact]
    public void Queue_is_prefix_dot_node_id_shared_by_the_cluster_by_default()
    {
        Assert.Equal("celeryev.monitor", Load("actormonitor.event-queue.node-id = monitor").QueueName());
        Assert.Equal("celeryev.actormonitor", Load().QueueName());
        Assert.True(Load().IsShared);
        Assert.Equal("celeryev.other", Load("actormonitor.cluster-name = other").QueueName());
        Assert.Equal("mine.x", Load("actormonitor.event-queue { prefix = mine, node-id = x }").QueueName());
    }

    [Fact]
    public void Celery_settings_give_kombu_arguments_in_int_milliseconds()
    {
        var celeryLike = Load("actormonitor.event-queue { ttl = 5.0, expires = 60.0, max-length = 0 }");
        var args = celeryLike.QueueArguments("q");
        Assert.Equal(5000, args["x-message-ttl"]);
        Assert.Equal(60000, args["x-expires"]);
        Assert.False(args.ContainsKey("x-max-length"));
        Assert.Equal("q.overflow", args["x-dead-letter-routing-key"]); // expired messages are counted, not lost silently
    }

    [Fact]
    public void Defaults_bound_the_backlog_instead_of_expiring_it()
    {
        var s = Load();
        var args = s.QueueArguments("q");
        Assert.False(args.ContainsKey("x-message-ttl"));
        Assert.Equal(60000, args["x-expires"]);
        Assert.Equal(2_000_000L, args["x-max-length"]);
        Assert.Equal("drop-head", args["x-overflow"]);
        Assert.Equal("", args["x-dead-letter-exchange"]);
        Assert.Equal(("celeryev", "celery", false, false), (s.EventExchange, s.ControlExchange, s.Durable, s.Exclusive));
    }

    [Theory]
    [InlineData("amqp://guest:guest@127.0.0.1:5672//", "127.0.0.1", 5672, "guest", "/")]
    [InlineData("amqp://u:p%40ss@broker:5673/", "broker", 5673, "u", "/")]
    [InlineData("amqp://u:p@broker/prod", "broker", 5672, "u", "prod")]
    [InlineData("amqp://broker:1234/%2Fstaging", "broker", 1234, "guest", "/staging")]
    public void Broker_urls_as_celery_writes_them(string url, string host, int port, string user, string vhost)
    {
        var a = BrokerAddress.Parse(url);
        Assert.Equal((host, port, user, vhost), (a.Host, a.Port, a.User, a.VirtualHost));
    }

    [Fact]
    public void Broker_url_must_be_amqp()
    {
        Assert.Throws<FormatException>(() => BrokerAddress.Parse("redis://localhost:6379/0"));
        Assert.Throws<BrokerConfigurationException>(() => Load("actormonitor.broker.url = \"not a url\"")) ;
    }
}
