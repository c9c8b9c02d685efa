using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace ActorMonitor.Rabbit;

/// <summary>The broker cannot be reached for a control call: the caller answers 503.</summary>
public sealed class BrokerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A queue as a passive declare finds it: messages ready and consumers attached.</summary>
public sealed record QueueDepth(long Messages, long Consumers);

/// <summary>One worker's answer to a control command: <c>{hostname: result}</c> as Celery replies.</summary>
public sealed record ControlReply(string Hostname, JsonElement Result);

/// <summary>
/// Celery's remote control, spoken as kombu's pidbox does (celery/app/control.py, kombu/pidbox.py):
/// a command is published on the fanout exchange <c>NAMESPACE.pidbox</c>; each worker it names
/// (or every worker) answers on the direct exchange <c>reply.NAMESPACE.pidbox</c> with the routing
/// key of a reply queue of ours, the ticket in the message's headers. Also the other things Flower
/// does on the broker: a queue's length (passive declare) and a task message (Celery's protocol 2).
/// One connection, opened when first needed and again after it broke; a channel per call.
/// </summary>
public sealed class CeleryControl(string brokerUrl, string controlNamespace = "celery", string? origin = null) : IAsyncDisposable
{
    private readonly BrokerAddress _address = BrokerAddress.Parse(brokerUrl);
    private readonly ConnectionFactory _factory = WithTimeouts(BrokerAddress.Parse(brokerUrl).CreateFactory("actormonitor control"));
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;

    /// <summary>The identity task messages carry as their origin, as Celery's <c>gen{pid}@{host}</c>.</summary>
    public string Origin { get; } = origin ?? $"actormonitor{Environment.ProcessId}@{Environment.MachineName}";

    public string Exchange => controlNamespace + ".pidbox";
    public string ReplyExchange => "reply." + controlNamespace + ".pidbox";

    /// <summary>
    /// Sends <paramref name="method"/> with <paramref name="arguments"/> to <paramref name="destination"/>
    /// (every worker when null) and, with <paramref name="reply"/>, gathers the answers until one
    /// came from each destination or <paramref name="timeout"/> passed (kombu's multi_call).
    /// </summary>
    public async Task<IReadOnlyList<ControlReply>> BroadcastAsync(string method, IReadOnlyDictionary<string, object?>? arguments,
        IReadOnlyList<string>? destination, bool reply, TimeSpan timeout, CancellationToken ct)
    {
        var connection = await ConnectAsync(ct);
        await using var channel = await Channel(connection, ct);
        await channel.ExchangeDeclareAsync(Exchange, ExchangeType.Fanout, durable: false, autoDelete: false, cancellationToken: ct);

        var ticket = Guid.NewGuid().ToString();
        var replies = new ConcurrentQueue<ControlReply>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var limit = destination is { Count: > 0 } ? destination.Count : int.MaxValue;
        var message = Command(method, arguments, destination);
        if (reply)
        {
            var oid = Guid.NewGuid().ToString();
            await channel.ExchangeDeclareAsync(ReplyExchange, ExchangeType.Direct, durable: false, autoDelete: false, cancellationToken: ct);
            // kombu's reply queue: gone 10 s after its consumer (Celery's control_queue_expires), replies kept 300 s.
            var queue = await channel.QueueDeclareAsync($"{oid}.{ReplyExchange}", durable: false, exclusive: false, autoDelete: true,
                arguments: new Dictionary<string, object?> { ["x-expires"] = 10_000, ["x-message-ttl"] = 300_000 }, cancellationToken: ct);
            await channel.QueueBindAsync(queue.QueueName, ReplyExchange, oid, cancellationToken: ct);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) =>
            {
                if (Header(delivery.BasicProperties, "ticket") == ticket && ParseReply(delivery.Body.Span) is { } r)
                {
                    replies.Enqueue(r);
                    if (replies.Count >= limit) enough.TrySetResult();
                }
                return Task.CompletedTask;
            };
            await channel.BasicConsumeAsync(queue.QueueName, autoAck: true, consumer, ct);
            message["ticket"] = ticket;
            message["reply_to"] = new Dictionary<string, string> { ["exchange"] = ReplyExchange, ["routing_key"] = oid };
        }

        var properties = CommandProperties(reply ? Epoch() + timeout.TotalSeconds : 0);
        await channel.BasicPublishAsync(Exchange, "", false, properties, JsonSerializer.SerializeToUtf8Bytes(message), ct);
        if (!reply) return [];

        try { await enough.Task.WaitAsync(timeout, ct); }
        catch (TimeoutException) { } // the workers that answered in time are the answer, as in kombu
        return replies.ToArray();
    }

    /// <summary>A pidbox command's body, as kombu's Mailbox._publish writes it (a reply's ticket and reply_to are added by the caller).</summary>
    internal static Dictionary<string, object?> Command(string method, IReadOnlyDictionary<string, object?>? arguments, IReadOnlyList<string>? destination) => new()
    {
        ["method"] = method, ["arguments"] = arguments ?? new Dictionary<string, object?>(), ["destination"] = destination,
        ["pattern"] = null, ["matcher"] = null,
    };

    /// <summary>A pidbox command's properties; a worker drops a command past <paramref name="expires"/> (epoch seconds, 0: never; kombu's Node.handle_message).</summary>
    internal static BasicProperties CommandProperties(double expires) => new()
    {
        ContentType = "application/json", ContentEncoding = "utf-8", DeliveryMode = DeliveryModes.Transient,
        Headers = new Dictionary<string, object?> { ["clock"] = 1L, ["expires"] = expires },
    };

    /// <summary>Messages ready in <paramref name="queue"/> and its consumers, or null when the broker has no such queue.</summary>
    public async Task<QueueDepth?> QueueLengthAsync(string queue, CancellationToken ct)
    {
        var connection = await ConnectAsync(ct);
        // A passive declare of a missing queue closes its channel: one channel per queue.
        await using var channel = await Channel(connection, ct);
        try
        {
            var ok = await channel.QueueDeclarePassiveAsync(queue, ct);
            return new QueueDepth(ok.MessageCount, ok.ConsumerCount);
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return null;
        }
    }

    /// <summary>Publishes a task message as Celery's send_task does (protocol 2, JSON) and returns its id.</summary>
    public async Task<string> SendTaskAsync(TaskMessage task, CancellationToken ct)
    {
        var connection = await ConnectAsync(ct);
        await using var channel = await Channel(connection, ct, confirm: true);
        var (properties, body) = task.Encode(Origin);
        await channel.BasicPublishAsync(task.Exchange, task.RoutingKey, false, properties, body, ct);
        return task.Id;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } c)
        {
            try { await c.CloseAsync(); } catch (Exception) { /* already gone */ }
            c.Dispose();
        }
        _gate.Dispose();
    }

    private async Task<IConnection> ConnectAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_connection is { IsOpen: true } open) return open;
            _connection?.Dispose();
            _connection = null;
            try
            {
                return _connection = await _factory.CreateConnectionAsync(ct);
            }
            catch (Exception ex) when (ex is BrokerUnreachableException or OperationInterruptedException or IOException or TimeoutException)
            {
                throw new BrokerUnavailableException($"the broker {_address.Host}:{_address.Port} cannot be reached: {ex.GetBaseException().Message}", ex);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<IChannel> Channel(IConnection connection, CancellationToken ct, bool confirm = false)
    {
        try
        {
            return await connection.CreateChannelAsync(new CreateChannelOptions(confirm, confirm), ct);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
        {
            throw new BrokerUnavailableException("the broker connection closed: " + ex.GetBaseException().Message, ex);
        }
    }

    private static ConnectionFactory WithTimeouts(ConnectionFactory factory)
    {
        // A control call must never hang a request: a broker that does not answer fails fast.
        factory.RequestedConnectionTimeout = TimeSpan.FromSeconds(5);
        factory.SocketReadTimeout = TimeSpan.FromSeconds(5);
        factory.SocketWriteTimeout = TimeSpan.FromSeconds(5);
        factory.HandshakeContinuationTimeout = TimeSpan.FromSeconds(5);
        factory.ContinuationTimeout = TimeSpan.FromSeconds(5);
        return factory;
    }

    private static string? Header(IReadOnlyBasicProperties properties, string name) =>
        properties.Headers?.TryGetValue(name, out var v) == true ? v switch
        {
            byte[] bytes => Encoding.UTF8.GetString(bytes),
            string s => s,
            _ => v?.ToString(),
        } : null;

    /// <summary>A reply body <c>{hostname: result}</c>; anything else is ignored, as kombu's collector would fail it.</summary>
    internal static ControlReply? ParseReply(ReadOnlySpan<byte> body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body.ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            foreach (var p in doc.RootElement.EnumerateObject()) return new ControlReply(p.Name, p.Value.Clone());
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static double Epoch() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}
