using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Output;
using ActorMonitor.Celery.Receiver;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Rabbit;
using Akka.Configuration;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ActorMonitor.Host.Commands;

/// <summary>capture, publish and dump: tools that talk to the broker directly, no cluster.</summary>
public static class BrokerCommands
{
    /// <summary>actormonitor capture OUT SECONDS: records every message on the event exchange in the capture format.</summary>
    public static Task<int> CaptureAsync(string hocon, string outPath, double seconds, CancellationToken ct) =>
        WithBrokerAsync(hocon, async (settings, channel) =>
        {
            await using var file = new StreamWriter(outPath, append: false, new UTF8Encoding(false));
            var count = 0;
            ProgressLine? progress = null;
            try
            {
                await ListenAsync(settings, channel, (ea, localReceived) =>
                {
                    var record = new CaptureRecord(ea.RoutingKey, HeadersJson(ea.BasicProperties), PropertiesJson(ea.BasicProperties), ea.Body.ToArray(), localReceived);
                    file.WriteLine(record.ToJsonLine());
                    progress?.Report(++count);
                }, ct, TimeSpan.FromSeconds(seconds), $"capturing into {outPath} for {seconds} s",
                    // From the moment the queue is bound: the time it records for is known, hence an ETA.
                    () => progress = ProgressLine.OnTerminal("capture", "messages", duration: TimeSpan.FromSeconds(seconds)));
            }
            finally
            {
                progress?.Dispose();
            }
            await file.FlushAsync(ct);
            CliLog.Info($"captured {count} messages into {outPath}");
            return 0;
        }, ct);

    /// <summary>actormonitor dump: every event live, one line each, as `celery events --dump` prints them.</summary>
    public static Task<int> DumpAsync(string hocon, Stream output, CancellationToken ct) =>
        WithBrokerAsync(hocon, async (settings, channel) =>
        {
            var decoder = new EventDecoder();
            var rules = new ReceiverRules(() => UtcOffset.Local(DateTimeOffset.UtcNow));
            var dumper = new EventDumper();
            await using var writer = new StreamWriter(output, new UTF8Encoding(false)) { AutoFlush = true };
            await ListenAsync(settings, channel, (ea, localReceived) =>
            {
                var decoded = decoder.Decode(ea.Body, ea.BasicProperties.ContentType);
                foreach (var ev in decoded.Events)
                {
                    rules.Apply(ev, localReceived);
                    writer.WriteLine(dumper.Format(ev));
                }
                foreach (var r in decoded.Rejections)
                    CliLog.Warning($"rejected a message on {ea.RoutingKey}: {r}");
            }, ct, null, "dumping events; Ctrl-C stops");
            return 0;
        }, ct);

    /// <summary>actormonitor publish CAPTURE: publishes a capture's messages as they were, at full speed or a given rate.</summary>
    public static async Task<int> PublishAsync(string hocon, string capturePath, double? rate, CancellationToken ct)
    {
        FileStream file;
        try
        {
            file = File.OpenRead(capturePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return CliError.Fail($"cannot read capture '{capturePath}': {ex.Message}");
        }
        await using (file)
        {
            return await WithBrokerAsync(hocon, async (settings, channel) =>
            {
                var lines = new Utf8LineReader(file);
                long sent = 0, skipped = 0, read = 0;
                var clock = Stopwatch.StartNew();
                using var progress = ProgressLine.OnTerminal("publish", "messages", file.Length);
                while (await lines.ReadLineAsync(ct) is { } line)
                {
                    read += line.Length + 1;
                    progress.Report(sent, read);
                    if (line.Span.Trim(" \t\r"u8).IsEmpty) continue;
                    var record = CaptureRecord.Parse(line.Span, out _);
                    if (record is null) { skipped++; continue; }
                    await channel.BasicPublishAsync(settings.EventExchange, record.RoutingKey, false, Properties(record), record.Body, ct);
                    progress.Report(++sent, read);
                    if (rate is { } r && r > 0)
                    {
                        var due = TimeSpan.FromSeconds(sent / r) - clock.Elapsed;
                        if (due > TimeSpan.Zero) await Task.Delay(due, ct);
                    }
                }
                progress.Dispose();
                CliLog.Info($"published {sent} messages in {clock.Elapsed.TotalSeconds:F2} s ({sent / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0}/s){(skipped > 0 ? $", skipped {skipped} unreadable lines" : "")}");
                return 0;
            }, ct);
        }
    }

    private static async Task<int> WithBrokerAsync(string hocon, Func<EventQueueSettings, IChannel, Task<int>> body, CancellationToken ct)
    {
        EventQueueSettings settings;
        BrokerAddress address;
        try
        {
            settings = EventQueueConfig.Read(MonitorConfig.With(hocon));
            address = BrokerAddress.Parse(settings.BrokerUrl);
        }
        catch (Exception ex) when (ex is BrokerConfigurationException or ConfigurationException or FormatException)
        {
            return CliError.Fail("configuration: " + ex.Message);
        }
        IConnection connection;
        try
        {
            connection = await address.CreateFactory("actormonitor cli").CreateConnectionAsync(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return CliError.Fail($"cannot reach broker {address}: {ex.GetBaseException().Message}");
        }
        await using (connection)
        {
            await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
            await channel.ExchangeDeclareAsync(settings.EventExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: ct);
            try
            {
                return await body(settings, channel);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return 0;
            }
        }
    }

    /// <summary>A queue of this command's own (exclusive, gone with it) bound to every routing key.</summary>
    /// <param name="ready">Logged (info) once the queue is bound and consumed: from then on nothing is missed.</param>
    /// <param name="onReady">Run at that moment, before the first message.</param>
    private static async Task ListenAsync(EventQueueSettings settings, IChannel channel, Action<BasicDeliverEventArgs, double> onMessage, CancellationToken ct,
        TimeSpan? duration, string ready, Action? onReady = null)
    {
        var queue = await channel.QueueDeclareAsync($"{settings.Prefix}.{Guid.NewGuid()}", durable: false, exclusive: true, autoDelete: true, cancellationToken: ct);
        await channel.QueueBindAsync(queue.QueueName, settings.EventExchange, "#", cancellationToken: ct);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, ea) =>
        {
            onMessage(ea, MonitorNode.WallClock());
            return Task.CompletedTask;
        };
        onReady?.Invoke();
        await channel.BasicConsumeAsync(queue.QueueName, autoAck: true, consumer, ct);
        CliLog.Info(ready);
        if (duration is { } d) await Task.Delay(d, ct);
        else await Task.Delay(Timeout.Infinite, ct);
    }

    private static BasicProperties Properties(CaptureRecord record)
    {
        var props = new BasicProperties();
        using (var doc = JsonDocument.Parse(record.PropertiesJson))
            foreach (var p in doc.RootElement.EnumerateObject())
                switch (p.Name)
                {
                    case "content_type" when p.Value.ValueKind == JsonValueKind.String: props.ContentType = p.Value.GetString(); break;
                    case "content_encoding" when p.Value.ValueKind == JsonValueKind.String: props.ContentEncoding = p.Value.GetString(); break;
                    case "delivery_mode" when p.Value.TryGetInt32(out var m): props.DeliveryMode = m == 2 ? DeliveryModes.Persistent : DeliveryModes.Transient; break;
                    case "priority" when p.Value.TryGetInt32(out var prio): props.Priority = (byte)prio; break;
                }
        using (var doc = JsonDocument.Parse(record.HeadersJson))
        {
            var headers = new Dictionary<string, object?>();
            foreach (var h in doc.RootElement.EnumerateObject())
                headers[h.Name] = h.Value.ValueKind switch
                {
                    JsonValueKind.String => h.Value.GetString(),
                    JsonValueKind.Number when h.Value.TryGetInt64(out var l) => l,
                    JsonValueKind.Number => h.Value.GetDouble(),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Null => null,
                    _ => h.Value.GetRawText(),
                };
            if (headers.Count > 0) props.Headers = headers;
        }
        return props;
    }

    private static string HeadersJson(IReadOnlyBasicProperties props)
    {
        var map = new Dictionary<string, object?>();
        if (props.Headers is not null)
            foreach (var (k, v) in props.Headers)
                map[k] = v is byte[] b ? Encoding.UTF8.GetString(b) : v;
        return JsonSerializer.Serialize(map);
    }

    private static string PropertiesJson(IReadOnlyBasicProperties props)
    {
        var map = new Dictionary<string, object?>();
        if (props.IsContentTypePresent()) map["content_type"] = props.ContentType;
        if (props.IsContentEncodingPresent()) map["content_encoding"] = props.ContentEncoding;
        if (props.IsDeliveryModePresent()) map["delivery_mode"] = (int)props.DeliveryMode;
        if (props.IsPriorityPresent()) map["priority"] = (int)props.Priority;
        return JsonSerializer.Serialize(map);
    }
}
