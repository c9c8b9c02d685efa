using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Ingest;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ActorMonitor.Rabbit;

/// <summary>
/// Consumes the event exchange into a node's receiver, as Celery's EventReceiver declares its
/// queue, but with manual acks: a message is acked only once every event in it is applied, so a
/// monitor that dies loses nothing the broker delivered. Survives the broker going away: logs
/// it, keeps the node serving queries, reconnects with back-off and consumes again.
/// </summary>
public sealed class CeleryEventConsumer
{
    private const int TagBits = 40; // delivery ids: (channel generation << 40) | delivery tag

    private readonly EventQueueSettings _settings;
    private readonly IEventIngest _node;
    private readonly IIngestLog _log;
    private readonly EventDecoder _decoder;
    private readonly Channel<long> _applied = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string _queue;
    private long _generation;
    // This channel's delivery tags handed to the receiver without a gap, and acked so far: a
    // graceful stop waits until the second catches up with the first.
    private long _sentThrough, _ackedThrough;

    public CeleryEventConsumer(EventQueueSettings settings, IEventIngest node)
    {
        settings.Validate();
        _settings = settings;
        _node = node;
        _log = node.Log;
        _decoder = node.CreateDecoder();
        _queue = settings.QueueName(); // one name for this node's life: a reconnect finds its backlog
        Status.Queue = _queue;
    }

    public BrokerStatus Status { get; } = new();

    public async Task RunAsync(CancellationToken stop)
    {
        // Downed by the cluster: stop at once, without the graceful drain (see IEventIngest.Downed).
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, _node.Downed);
        var ct = either.Token;
        var address = BrokerAddress.Parse(_settings.BrokerUrl);
        var factory = address.CreateFactory("actormonitor " + _queue);
        // Acks follow checkpoints: a message is acked once every event in it is durable.
        await using var ingest = _node.OpenFeed(onDurable: ids =>
        {
            foreach (var id in ids) _applied.Writer.TryWrite(id);
        });
        var backoff = _settings.MinBackoff;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await ConsumeOnceAsync(factory, address, ingest, ct);
                backoff = _settings.MinBackoff;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (BrokerConfigurationException)
            {
                throw;
            }
            catch (Exception ex)
            {
                Status.LastError = ex.GetBaseException().Message;
                _log.Warning("Broker {0}: {1}. Retrying in {2:0.0} s; queries are still served.", address, Status.LastError, backoff.TotalSeconds);
            }
            Status.Connected = false;
            try
            {
                await Task.Delay(backoff, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _settings.MaxBackoff.Ticks));
            Status.OnReconnect();
        }
    }

    private async Task ConsumeOnceAsync(ConnectionFactory factory, BrokerAddress address, IIngestFeed ingest, CancellationToken ct)
    {
        await using var connection = await factory.CreateConnectionAsync(ct);
        var lost = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionShutdownAsync += (_, e) =>
        {
            lost.TrySetResult($"connection closed ({e.ReplyCode} {e.ReplyText})");
            return Task.CompletedTask;
        };
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        channel.ChannelShutdownAsync += (_, e) =>
        {
            lost.TrySetResult($"channel closed ({e.ReplyCode} {e.ReplyText})");
            return Task.CompletedTask;
        };

        await DeclareAsync(channel, ct);
        await channel.BasicQosAsync(0, _settings.Prefetch, false, ct);

        var generation = Interlocked.Increment(ref _generation);
        Interlocked.Exchange(ref _sentThrough, 0);
        Interlocked.Exchange(ref _ackedThrough, 0);
        // Not linked to ct: on a graceful stop the acks go on until the last checkpoint's are sent.
        using var stopAcks = new CancellationTokenSource();
        var acks = AckLoopAsync(channel, generation, stopAcks.Token);

        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, ea) =>
        {
            Status.OnConsumed();
            // The body is only valid during this handler: decode it now (decoding copies what it keeps).
            // By content type: JSON and msgpack are read; pickle, YAML and the rest are refused unread.
            var decoded = _decoder.Decode(ea.Body, ea.BasicProperties.ContentType);
            await ingest.SendAsync(ea.RoutingKey, decoded, null, (generation << TagBits) | (long)ea.DeliveryTag, ct, ea.Redelivered);
            // Deliveries run one at a time, in tag order.
            Interlocked.CompareExchange(ref _sentThrough, (long)ea.DeliveryTag, (long)ea.DeliveryTag - 1);
        };
        var consumerTag = await channel.BasicConsumeAsync(_queue, autoAck: false, consumer, ct);

        await using var overflowChannel = await connection.CreateChannelAsync(cancellationToken: ct);
        if (_settings.MaxLength is not null || _settings.Ttl is not null)
        {
            // Its own channel: the event channel's delivery tags must stay one contiguous run (see AckLoopAsync).
            var overflow = new AsyncEventingBasicConsumer(overflowChannel);
            overflow.ReceivedAsync += (_, ea) =>
            {
                var n = Status.OnOverflowed();
                if (n == 1 || n % 10_000 == 0)
                    _log.Error("The event queue {0} overflowed: {1} message(s) dropped by the broker so far (routing key of the last: {2}). The monitor is not keeping up.",
                        _queue, n, ea.BasicProperties.Headers?.TryGetValue("x-first-death-reason", out var r) == true ? Encoding.UTF8.GetString((byte[])r!) : ea.RoutingKey);
                return Task.CompletedTask;
            };
            await overflowChannel.BasicConsumeAsync(_settings.OverflowQueueName(_queue), autoAck: true, overflow, ct);
        }

        Status.Connected = true;
        Status.LastError = null;
        _log.Info("Consuming {0} from exchange {1} on {2} (prefetch {3}).", _queue, _settings.EventExchange, address, _settings.Prefetch);
        if (_settings.WakeUpWorkers) await WakeUpWorkersAsync(connection, ct);

        try
        {
            var reason = await lost.Task.WaitAsync(ct);
            throw new IOException(reason);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && !lost.Task.IsCompleted)
        {
            if (_node.Downed.IsCancellationRequested)
                _log.Warning("Closing the connection to the broker without acking: the broker gives {0}'s unacked messages to the other nodes", _queue);
            else await DrainAsync(channel, consumerTag, ingest);
            throw;
        }
        finally
        {
            stopAcks.Cancel();
            await acks;
        }
    }

    /// <summary>
    /// A graceful stop: no new deliveries; what was delivered is applied, checkpointed and acked
    /// before the channel closes, so nothing is left for the broker to redeliver.
    /// </summary>
    private async Task DrainAsync(IChannel channel, string consumerTag, IIngestFeed ingest)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await channel.BasicCancelAsync(consumerTag, noWait: false, timeout.Token);
            await ingest.WhenAllAppliedAsync(timeout.Token);
            await _node.CheckpointAsync(TimeSpan.FromSeconds(30));
            while (Interlocked.Read(ref _ackedThrough) < Interlocked.Read(ref _sentThrough))
                await Task.Delay(10, timeout.Token); // the acks of that checkpoint, on their way out
            _log.Info("Stopped consuming {0}: every delivered message is applied, durable and acked.", _queue);
        }
        catch (Exception ex)
        {
            _log.Warning("Stopping: could not ack every delivered message ({0}); the broker redelivers the rest, and they are recognised.", ex.GetBaseException().Message);
        }
    }

    private async Task DeclareAsync(IChannel channel, CancellationToken ct)
    {
        await channel.ExchangeDeclareAsync(_settings.EventExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
        // A shared queue (node-id) must outlive a restart of its nodes: not auto-deleted, only
        // expired by x-expires once no node consumed it for event_queue_expires.
        var autoDelete = !_settings.Durable && !_settings.IsShared;
        if (_settings.MaxLength is not null || _settings.Ttl is not null)
        {
            var overflowArgs = new Dictionary<string, object?>();
            if (_settings.Expires is { } e) overflowArgs["x-expires"] = (int)e.TotalMilliseconds;
            await channel.QueueDeclareAsync(_settings.OverflowQueueName(_queue), _settings.Durable, _settings.Exclusive, autoDelete, overflowArgs, cancellationToken: ct);
        }
        await channel.QueueDeclareAsync(_queue, _settings.Durable, _settings.Exclusive, autoDelete, _settings.QueueArguments(_queue), cancellationToken: ct);
        await channel.QueueBindAsync(_queue, _settings.EventExchange, "#", cancellationToken: ct);
    }

    /// <summary>
    /// Acks applied messages. Delivery tags of a channel run 1, 2, 3, … and messages complete out
    /// of order, so applied tags are held until the run from the lowest unacked one is unbroken,
    /// then that whole run is acked at once (multiple = true): one ack for many messages, and
    /// never one for a message that is not applied yet.
    /// </summary>
    private async Task AckLoopAsync(IChannel channel, long generation, CancellationToken ct)
    {
        var applied = new SortedSet<ulong>();
        ulong next = 1;
        try
        {
            while (await _applied.Reader.WaitToReadAsync(ct))
            {
                while (_applied.Reader.TryRead(out var id))
                    if (id >> TagBits == generation) applied.Add((ulong)(id & ((1L << TagBits) - 1)));
                    // else: delivered on a channel that is gone; the broker redelivers it
                ulong upTo = 0, first = next;
                while (applied.Count > 0 && applied.Min == next)
                {
                    applied.Remove(next);
                    upTo = next++;
                }
                if (upTo == 0) continue;
                await channel.BasicAckAsync(upTo, multiple: true, ct);
                Status.OnAcked((long)(next - first));
                Interlocked.Exchange(ref _ackedThrough, (long)upTo);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RabbitMQ.Client.Exceptions.AlreadyClosedException or ObjectDisposedException)
        {
            // the channel is gone; unacked messages are redelivered to the next consumer
        }
    }

    /// <summary>
    /// Celery's EventReceiver.wakeup_workers(): broadcast the "heartbeat" control command so that
    /// running workers announce themselves at once instead of within their heartbeat interval.
    /// </summary>
    private async Task WakeUpWorkersAsync(IConnection connection, CancellationToken ct)
    {
        var exchange = _settings.ControlExchange + ".pidbox";
        try
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
            await channel.ExchangeDeclarePassiveAsync(exchange, ct); // no workers have declared it yet: nothing to wake
            var body = JsonSerializer.SerializeToUtf8Bytes(CeleryControl.Command("heartbeat", null, null));
            var props = CeleryControl.CommandProperties(CeleryControl.Epoch() + 1.0);
            await channel.BasicPublishAsync(exchange, "", false, props, body, ct);
            _log.Info("Asked running workers to announce themselves (heartbeat broadcast on {0}).", exchange);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _log.Info("No worker wake-up broadcast: {0}", ex.GetBaseException().Message);
        }
    }
}
