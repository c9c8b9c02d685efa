using System.Diagnostics;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host;
using ActorMonitor.Rabbit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ActorMonitor.Bench;

/// <summary>
/// Sustained ingest from RabbitMQ: the capture is first published into the event queue (not
/// timed), then a consumer drains it. "live" is a monitor node (decode, receiver, sharded
/// entities, acks after application); "live-bare" is a bare RabbitMQ.Client consumer with the
/// same prefetch that only decodes and acks. Timed from the first message to the last ack.
/// </summary>
public static class LiveIngest
{
    public static async Task<BenchResult> RunAsync(string mode, string brokerUrl, byte[] capture)
    {
        var queueName = $"celeryev.bench-{Guid.NewGuid():N}";
        var hocon = $"actormonitor.broker.url = \"{brokerUrl}\"\nactormonitor.event-queue.node-id = \"{queueName["celeryev.".Length..]}\"\nactormonitor.receiver.utcoffset = 0\nactormonitor.broker.wakeup-workers = off\nactormonitor.event-queue.expires = 600\nactormonitor.journal = memory\n"
                    + JournalFor(mode) + Environment.GetEnvironmentVariable("BENCH_HOCON");
        var config = MonitorConfig.With(hocon);
        var settings = EventQueueConfig.Read(config);
        var address = BrokerAddress.Parse(brokerUrl);
        var factory = address.CreateFactory("actormonitor bench");

        var (messages, events) = await PreloadAsync(factory, settings, queueName, capture);
        Console.Error.WriteLine($"{mode}: {messages} messages ({events} events) waiting in {queueName}");

        return mode == "live-bare"
            ? await BareAsync(factory, settings, queueName, messages, events)
            : await NodeAsync(config, settings, messages, events);
    }

    /// <summary>live: state in memory; live-sqlite: a fresh SQLite file; live-postgres: BENCH_PG_JOURNAL (a fresh schema).</summary>
    private static string JournalFor(string mode)
    {
        switch (mode)
        {
            case "live-sqlite":
                var file = Path.Combine(Path.GetTempPath(), "actormonitor-bench-live.db");
                foreach (var f in new[] { file, file + "-wal", file + "-shm" }) File.Delete(f);
                return $"actormonitor.journal = \"sqlite:{file}\"\n";
            case "live-postgres":
                var pg = Environment.GetEnvironmentVariable("BENCH_PG_JOURNAL") ?? throw new InvalidOperationException("live-postgres needs BENCH_PG_JOURNAL=postgres:...");
                return $"actormonitor.journal = \"{pg}\"\n";
            default:
                return "";
        }
    }

    internal static async Task<(long Messages, long Events)> PreloadAsync(ConnectionFactory factory, EventQueueSettings settings, string queue, byte[] capture)
    {
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.ExchangeDeclareAsync(settings.EventExchange, ExchangeType.Topic, durable: true, autoDelete: false);
        // Declared exactly as the node declares them, so that the node finds them equivalent.
        // A shared queue (node-id) is not auto-deleted.
        await channel.QueueDeclareAsync(settings.OverflowQueueName(queue), false, false, false, new Dictionary<string, object?> { ["x-expires"] = (int)settings.Expires!.Value.TotalMilliseconds });
        await channel.QueueDeclareAsync(queue, false, false, false, settings.QueueArguments(queue));
        await channel.QueueBindAsync(queue, settings.EventExchange, "#");

        var decoder = new EventDecoder();
        long messages = 0, events = 0;
        var lines = new Utf8LineReader(new MemoryStream(capture, writable: false));
        var pending = new List<ValueTask>();
        while (await lines.ReadLineAsync() is { } line)
        {
            var record = CaptureRecord.Parse(line.Span, out _);
            if (record is null) continue;
            events += decoder.Decode(record.Body).Events.Count;
            var props = new BasicProperties { ContentType = "application/json", ContentEncoding = "utf-8", DeliveryMode = DeliveryModes.Transient };
            pending.Add(channel.BasicPublishAsync(settings.EventExchange, record.RoutingKey, false, props, record.Body));
            messages++;
            if (pending.Count >= 500)
            {
                foreach (var p in pending) await p;
                pending.Clear();
            }
        }
        foreach (var p in pending) await p;
        return (messages, events);
    }

    private static async Task<BenchResult> NodeAsync(Akka.Configuration.Config config, EventQueueSettings settings, long messages, long events)
    {
        // No managed-heap limit here, unlike `run`: this process holds the whole capture in its
        // heap (it publishes it first), so the node's limit cannot be reproduced in it.
        var system = await MonitorSystem.StartAsync(config);
        try
        {
            var node = await MonitorNode.StartAsync(system);
            var consumer = new CeleryEventConsumer(settings, new NodeIngest(node, "rabbit"));
            using var stop = new CancellationTokenSource();
            var cpu = new CpuShares();
            var sw = Stopwatch.StartNew();
            var run = consumer.RunAsync(stop.Token);
            while (consumer.Status.Acked < messages)
            {
                if (run.IsCompleted) await run;
                await Task.Delay(5);
            }
            var elapsed = sw.Elapsed;
            var shares = cpu.Line();
            stop.Cancel();
            await run;
            var stats = await node.Queries.ReceiverStatsAsync();
            if (stats.AcceptedEvents != events) throw new InvalidOperationException($"applied {stats.AcceptedEvents} events, expected {events}");
            // How busy the write path was: rows written and the time inside the store's commits.
            var keeper = await node.Queries.KeeperStatsAsync();
            return new BenchResult(events, elapsed,
                $"{shares} commits={keeper.Commits} rows_written={keeper.RowsWritten} commit_s={keeper.CommitTime.TotalSeconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)}");
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<BenchResult> BareAsync(ConnectionFactory factory, EventQueueSettings settings, string queue, long messages, long events)
    {
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.BasicQosAsync(0, settings.Prefetch, false);
        var decoder = new EventDecoder();
        long acked = 0, decoded = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, ea) =>
        {
            decoded += decoder.Decode(ea.Body.Span).Events.Count;
            await channel.BasicAckAsync(ea.DeliveryTag, false);
            if (++acked == messages) done.TrySetResult();
        };
        var cpu = new CpuShares();
        var sw = Stopwatch.StartNew();
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
        var elapsed = sw.Elapsed;
        var shares = cpu.Line();
        if (decoded != events) throw new InvalidOperationException($"decoded {decoded} events, expected {events}");
        await channel.QueueDeleteAsync(queue);
        return new BenchResult(events, elapsed, shares);
    }
}
