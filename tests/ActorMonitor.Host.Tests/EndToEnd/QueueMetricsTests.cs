using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// celery-exporter's queue gauges on a node's /metrics, sampled from a real RabbitMQ and a real
/// Celery worker (prefork, 2 processes): while the worker consumes the queue, one worker, one
/// consumer and two processes; once it stopped, the backlog published meanwhile with no consumer;
/// once the queue is deleted, no series. The sampler needs no HTTP credentials.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class QueueMetricsTests(RabbitBroker broker, ITestOutputHelper output) : IClassFixture<RabbitBroker>
{
    private const string Python = "/usr/bin/python3";
    private const string Queue = "e2e.tasks";
    private static readonly string E2eDir = Repo.Path("tests", "e2e");

    private static readonly string[] Gauges = ["celery_queue_length", "celery_active_consumer_count", "celery_active_worker_count", "celery_active_process_count"];

    private Dictionary<string, string> CeleryEnv => new() { ["E2E_BROKER"] = broker.Url, ["PYTHONPATH"] = E2eDir };

    /// <summary>The four gauges of <see cref="Queue"/> (a missing one is absent from the map).</summary>
    private static async Task<Dictionary<string, double>> QueueGaugesAsync(LiveNode node) =>
        (await MetricsTests.ScrapeAsync(node))
            .Where(s => Gauges.Contains(s.Name) && s.Labels.GetValueOrDefault("queue_name") == Queue)
            .ToDictionary(s => s.Name, s => s.Value);

    private static bool Are(Dictionary<string, double> g, double length, double consumers, double workers, double processes) =>
        g.GetValueOrDefault("celery_queue_length", -1) == length && g.GetValueOrDefault("celery_active_consumer_count", -1) == consumers &&
        g.GetValueOrDefault("celery_active_worker_count", -1) == workers && g.GetValueOrDefault("celery_active_process_count", -1) == processes;

    [Fact]
    public async Task Queue_gauges_follow_a_real_worker_and_the_backlog_left_while_none_consumes()
    {
        // No control credentials and no --allow-control-without-credentials: the sampler is internal.
        await using var node = await LiveNode.StartAsync(broker.Url, "--config", "actormonitor.metrics.queue-sample-interval = 1s");
        var text = await new HttpClient().GetStringAsync(node.Url + "/metrics");
        foreach (var name in Gauges)
        {
            Assert.Contains($"# HELP {name} ", text);
            Assert.Contains($"# TYPE {name} gauge\n", text);
        }

        await using var worker = ChildProcess.Start("qm@e2e", Python,
            ["-m", "celery", "-A", "e2e_tasks", "worker", "-E", "-n", "qm@e2e", "-P", "prefork", "-c", "2", "--without-mingle", "-l", "warning"],
            E2eDir, CeleryEnv);
        var last = new Dictionary<string, double>();
        try
        {
            // Consumed by one worker: one consumer, two pool processes, nothing waiting.
            await node.WaitUntilAsync(async () => Are(last = await QueueGaugesAsync(node), 0, 1, 1, 2), TimeSpan.FromSeconds(120),
                "one worker with 2 processes consuming e2e.tasks");

            // The worker stops (warm shutdown); the queue stays (Celery declares it durable).
            Assert.Equal(0, await worker.TerminateAsync(TimeSpan.FromSeconds(60)));
            await node.WaitUntilAsync(async () => Are(last = await QueueGaugesAsync(node), 0, 0, 0, 0), TimeSpan.FromSeconds(30),
                "no worker and no consumer on e2e.tasks");

            // Tasks sent while nobody consumes: exactly the backlog.
            const int backlog = 7;
            await using (var client = ChildProcess.Start("send", Python,
                             [Path.Combine(E2eDir, "send_task.py"), "e2e_tasks.add", "[1, 2]", $"{{\"count\": {backlog}}}"], E2eDir, CeleryEnv))
                Assert.Equal(0, await client.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));
            await node.WaitUntilAsync(async () => Are(last = await QueueGaugesAsync(node), backlog, 0, 0, 0), TimeSpan.FromSeconds(30),
                $"celery_queue_length {backlog}");

            // A queue the broker no longer has drops its series (the families stay).
            await using (var connection = await ActorMonitor.Rabbit.BrokerAddress.Parse(broker.Url).CreateFactory("test").CreateConnectionAsync())
            await using (var channel = await connection.CreateChannelAsync())
                await channel.QueueDeleteAsync(Queue, ifUnused: false, ifEmpty: false);
            await node.WaitUntilAsync(async () => (last = await QueueGaugesAsync(node)).Count == 0, TimeSpan.FromSeconds(30), "e2e.tasks' series to be dropped");
            Assert.Contains("# TYPE celery_queue_length gauge\n", await new HttpClient().GetStringAsync(node.Url + "/metrics"));
        }
        catch
        {
            output.WriteLine("last gauges: " + string.Join(", ", last.Select(kv => $"{kv.Key}={kv.Value}")));
            output.WriteLine($"--- worker\n{LiveNode.Tail(worker.Stderr)}\n--- node\n{LiveNode.Tail(node.Process.Stderr)}");
            throw;
        }
    }
}
