using ActorMonitor.Rabbit;
using Akka.Configuration;

namespace ActorMonitor.Host;

/// <summary>The event queue's settings as HOCON gives them (actormonitor.broker, actormonitor.event-queue).</summary>
public static class EventQueueConfig
{
    public static EventQueueSettings Read(Config config)
    {
        var c = config.GetConfig("actormonitor") ?? throw new BrokerConfigurationException("missing the 'actormonitor' section");
        // Unset: the cluster's name, so that every node of the monitor shares one queue and the
        // queue outlives a restart (Celery's own default, a fresh uuid per receiver, is one node's).
        var nodeId = c.GetString("event-queue.node-id", "");
        if (string.IsNullOrWhiteSpace(nodeId)) nodeId = c.GetString("cluster-name", "actormonitor");
        var settings = new EventQueueSettings(
            c.GetString("broker.url", "amqp://guest:guest@127.0.0.1:5672//"),
            c.GetString("broker.event-exchange", "celeryev"),
            c.GetString("broker.control-exchange", "celery"),
            c.GetString("event-queue.prefix", "celeryev"),
            string.IsNullOrWhiteSpace(nodeId) ? null : nodeId,
            OptionalSeconds(c, "event-queue.ttl"),
            OptionalSeconds(c, "event-queue.expires"),
            c.GetBoolean("event-queue.durable", false),
            c.GetBoolean("event-queue.exclusive", false),
            c.GetLong("event-queue.max-length", 0) is var max and > 0 ? max : null,
            (ushort)Math.Clamp(c.GetInt("broker.prefetch", 1000), 1, ushort.MaxValue),
            c.GetBoolean("broker.wakeup-workers", true),
            c.GetTimeSpan("broker.reconnect.min-backoff", TimeSpan.FromMilliseconds(500)),
            c.GetTimeSpan("broker.reconnect.max-backoff", TimeSpan.FromSeconds(10)));
        settings.Validate();
        return settings;
    }

    private static TimeSpan? OptionalSeconds(Config c, string path)
    {
        var text = c.GetString(path, "off");
        if (text is "off" or "none" or "" or "0") return null;
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s)
            ? TimeSpan.FromSeconds(s)
            : c.GetTimeSpan(path);
    }
}
