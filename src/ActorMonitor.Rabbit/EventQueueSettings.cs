namespace ActorMonitor.Rabbit;

/// <summary>The configuration is refused before anything connects (Celery raises ImproperlyConfigured).</summary>
public sealed class BrokerConfigurationException(string message) : Exception(message);

/// <summary>
/// The event queue, declared as Celery's EventReceiver declares it (celery/events/receiver.py), with the
/// defaults this project chooses where Celery's lose events (see docs/architecture.md, "The RabbitMQ transport").
/// The host reads them from its configuration (ActorMonitor.Host's EventQueueConfig).
/// </summary>
public sealed record EventQueueSettings(
    string BrokerUrl,
    string EventExchange,
    string ControlExchange,
    string Prefix,
    string? NodeId,
    TimeSpan? Ttl,
    TimeSpan? Expires,
    bool Durable,
    bool Exclusive,
    long? MaxLength,
    ushort Prefetch,
    bool WakeUpWorkers,
    TimeSpan MinBackoff,
    TimeSpan MaxBackoff)
{
    /// <summary>A shared queue (node_id set): the nodes of one monitor consume it round-robin.</summary>
    public bool IsShared => !string.IsNullOrEmpty(NodeId);

    public void Validate()
    {
        if (Exclusive && Durable)
            throw new BrokerConfigurationException("Queue cannot be both exclusive and durable, choose one or the other (actormonitor.event-queue.exclusive and .durable).");
        if (Exclusive && IsShared)
            throw new BrokerConfigurationException("A shared event queue (node-id set) cannot be exclusive: the other nodes could not consume it.");
        try
        {
            _ = BrokerAddress.Parse(BrokerUrl);
        }
        catch (FormatException ex)
        {
            throw new BrokerConfigurationException(ex.Message);
        }
    }

    /// <summary>Queue name: "&lt;prefix&gt;.&lt;node_id&gt;", node_id a fresh uuid4 when not set, as in Celery.</summary>
    public string QueueName(Guid? instance = null) => $"{Prefix}.{NodeId ?? (instance ?? Guid.NewGuid()).ToString()}";

    public string OverflowQueueName(string queue) => queue + ".overflow";

    /// <summary>Queue arguments as kombu builds them: int milliseconds, absent when not set.</summary>
    public Dictionary<string, object?> QueueArguments(string queue)
    {
        var args = new Dictionary<string, object?>();
        if (Ttl is { } ttl) args["x-message-ttl"] = (int)ttl.TotalMilliseconds;
        if (Expires is { } expires) args["x-expires"] = (int)expires.TotalMilliseconds;
        if (MaxLength is { } max)
        {
            // A full queue drops its oldest message into the overflow queue, where it is counted.
            args["x-max-length"] = max;
            args["x-overflow"] = "drop-head";
        }
        if (MaxLength is not null || Ttl is not null)
        {
            args["x-dead-letter-exchange"] = "";
            args["x-dead-letter-routing-key"] = OverflowQueueName(queue);
        }
        return args;
    }
}
