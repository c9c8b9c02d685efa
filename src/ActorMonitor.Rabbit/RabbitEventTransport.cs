using ActorMonitor.Celery.Dispatch;
using RabbitMQ.Client;

namespace ActorMonitor.Rabbit;

/// <summary>
/// Publishes dispatcher messages to the event exchange as a Celery worker does (checked on
/// the wire against Celery 5.2.6): topic exchange, content type application/json, utf-8, delivery mode 1 (transient),
/// priority 0, header "hostname". Publisher confirms make "published" mean the broker has it, so
/// a broker outage is seen (and the dispatcher keeps the message) instead of losing it in a socket.
/// Connects lazily, and again after a failure.
/// </summary>
public sealed class RabbitEventTransport(string brokerUrl, string hostname, string exchange = "celeryev") : IEventTransport, IAsyncDisposable
{
    private readonly ConnectionFactory _factory = BrokerAddress.Parse(brokerUrl).CreateFactory("actormonitor dispatcher " + hostname);
    private readonly BasicProperties _properties = new()
    {
        ContentType = "application/json",
        ContentEncoding = "utf-8",
        DeliveryMode = DeliveryModes.Transient,
        Priority = 0,
        Headers = new Dictionary<string, object?> { ["hostname"] = hostname },
    };
    private IConnection? _connection;
    private IChannel? _channel;

    public async Task PublishAsync(string routingKey, ReadOnlyMemory<byte> body, CancellationToken ct)
    {
        try
        {
            var channel = await ChannelAsync(ct);
            await channel.BasicPublishAsync(exchange, routingKey, false, _properties, body, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await ResetAsync();
            throw;
        }
    }

    private async Task<IChannel> ChannelAsync(CancellationToken ct)
    {
        if (_channel is { IsOpen: true }) return _channel;
        await ResetAsync();
        _connection = await _factory.CreateConnectionAsync(ct);
        _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
        await _channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
        return _channel;
    }

    private async Task ResetAsync()
    {
        try
        {
            if (_channel is not null) await _channel.DisposeAsync();
            if (_connection is not null) await _connection.DisposeAsync();
        }
        catch (Exception)
        {
            // already broken: nothing to close cleanly
        }
        _channel = null;
        _connection = null;
    }

    public async ValueTask DisposeAsync() => await ResetAsync();
}
