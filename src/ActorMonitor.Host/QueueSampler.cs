using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Rabbit;
using Akka.Actor;
using Akka.Configuration;

namespace ActorMonitor.Host;

/// <summary>
/// celery-exporter's queue gauges, sampled every <c>actormonitor.metrics.queue-sample-interval</c>:
/// an inspect of <c>active_queues</c> and <c>stats</c> on the node's broker, then a passive
/// declare of every queue some worker said it consumes (the queues are remembered as the
/// <see cref="WorkerInspector"/> remembers answers, so a queue whose workers are all gone keeps
/// showing its backlog). Each sample replaces the previous one in the metrics actor: a queue the
/// broker no longer has drops its series, and so does every queue while the broker is unreachable.
/// Internal to the node: it needs no HTTP credentials.
/// </summary>
internal sealed class QueueSampler(CeleryControl control, WorkerInspector inspector, IActorRef metrics)
{
    public const string IntervalPath = "actormonitor.metrics.queue-sample-interval";

    private static readonly string[] Methods = ["active_queues", "stats"];

    /// <summary>The sampling interval, or null when sampling is off (<c>off</c>, <c>0</c>).</summary>
    public static TimeSpan? Interval(Config config)
    {
        var text = config.GetString(IntervalPath, "15s").Trim();
        if (text is "off" or "none" or "" or "0") return null;
        var interval = config.GetTimeSpan(IntervalPath);
        if (interval <= TimeSpan.Zero) return null;
        if (interval < TimeSpan.FromSeconds(1)) throw new ConfigurationException($"{IntervalPath} must be at least 1s (or off), not {text}");
        return interval;
    }

    /// <summary>Samples now and then every <paramref name="interval"/> until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        string? failing = null;
        do
        {
            try
            {
                metrics.Tell(new QueueSamples(await SampleAsync(ct)));
                if (failing is not null) CliLog.Info("queue metrics: the broker answers again");
                failing = null;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Unknown now: no stale figures. Said once per failure, not every interval.
                metrics.Tell(new QueueSamples([]));
                var reason = ex.GetBaseException().Message;
                if (failing != reason) CliLog.Warning($"queue metrics: cannot sample the broker's queues: {reason}");
                failing = reason;
            }
        }
        while (await WaitAsync(timer, ct));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>One sample: every queue the workers consume that the broker has.</summary>
    public async Task<IReadOnlyList<QueueSample>> SampleAsync(CancellationToken ct)
    {
        var answered = await inspector.RefreshAsync(null, ct, Methods);
        var consumers = inspector.QueueConsumers(answered);
        var samples = new List<QueueSample>();
        foreach (var queue in inspector.ActiveQueueNames())
        {
            if (await control.QueueLengthAsync(queue, ct) is not { } depth) continue; // gone from the broker
            var (workers, processes) = consumers.GetValueOrDefault(queue);
            samples.Add(new QueueSample(queue, depth.Messages, depth.Consumers, workers, processes));
        }
        return samples;
    }
}
