using ActorMonitor.Celery.Receiver;
using ActorMonitor.Store;
using Akka.Configuration;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>The <c>actormonitor</c> section of the HOCON configuration (hocon/actormonitor.conf).</summary>
public sealed record MonitorSettings(
    string ClusterName,
    int TaskShards,
    int WorkerShards,
    long? FixedUtcOffset,
    int MaxBodyBytes,
    int MaxJsonDepth,
    int IngestWindow,
    int QueryParallelism,
    TimeSpan AskTimeout,
    string NodeName,
    StoreTarget Journal,
    int MaxTasksInMemory,
    int MaxWorkersInMemory,
    int MaxTimelineEntries,
    TimeSpan CheckpointInterval,
    int CheckpointMaxMessages,
    int SnapshotEvery,
    TimeSpan CheckpointTimeout,
    int MaxUndurable)
{
    /// <summary>actormonitor.metrics.forget-workers-after: a worker gone longer loses every metric series.</summary>
    public TimeSpan ForgetWorkersAfter { get; init; } = TimeSpan.FromHours(1);

    /// <summary>actormonitor.dashboard.chart-step: the width of one bucket of the dashboard's charts (whole seconds).</summary>
    public TimeSpan ChartStep { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>actormonitor.dashboard.chart-retention: how far back the charts reach (kept in memory).</summary>
    public TimeSpan ChartRetention { get; init; } = TimeSpan.FromHours(1);

    public static MonitorSettings FromConfig(Config config)
    {
        var c = config.GetConfig("actormonitor") ?? throw new ConfigurationException("missing the 'actormonitor' section");
        var utc = c.GetString("receiver.utcoffset", "auto");
        long? fixedOffset = utc.Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? null
            : long.TryParse(utc, out var o) ? o : throw new ConfigurationException($"actormonitor.receiver.utcoffset must be 'auto' or an integer, not '{utc}'");
        return new MonitorSettings(
            c.GetString("cluster-name", "actormonitor"),
            c.GetInt("sharding.task-shards", 100),
            c.GetInt("sharding.worker-shards", 30),
            fixedOffset,
            c.GetInt("receiver.max-body-bytes", 4 * 1024 * 1024),
            c.GetInt("receiver.max-json-depth", 32),
            c.GetInt("ingest.window", 2000),
            c.GetInt("query.parallelism", 2000),
            c.GetTimeSpan("query.ask-timeout", TimeSpan.FromSeconds(30)),
            c.GetString("node-name", "node-1"),
            ParseJournal(c.GetString("journal", "memory")),
            Positive(c, "state.max-tasks-in-memory", 10_000),
            Positive(c, "state.max-workers-in-memory", 5_000),
            Positive(c, "state.max-timeline-entries", 40_000),
            c.GetTimeSpan("checkpoint.interval", TimeSpan.FromMilliseconds(200)),
            Positive(c, "checkpoint.max-messages", 4000),
            Positive(c, "checkpoint.snapshot-every", 100),
            c.GetTimeSpan("checkpoint.timeout", TimeSpan.FromSeconds(10)),
            Positive(c, "broker.prefetch", 10_000))
        {
            ForgetWorkersAfter = c.GetTimeSpan("metrics.forget-workers-after", TimeSpan.FromHours(1)) is var f && f > TimeSpan.Zero
                ? f
                : throw new ConfigurationException("actormonitor.metrics.forget-workers-after must be a positive duration"),
            ChartStep = c.GetTimeSpan("dashboard.chart-step", TimeSpan.FromSeconds(5)) is var step && step >= TimeSpan.FromSeconds(1)
                ? step
                : throw new ConfigurationException("actormonitor.dashboard.chart-step must be at least 1s"),
            ChartRetention = c.GetTimeSpan("dashboard.chart-retention", TimeSpan.FromHours(1)) is var keep && keep > TimeSpan.Zero && keep <= TimeSpan.FromDays(7)
                ? keep
                : throw new ConfigurationException("actormonitor.dashboard.chart-retention must be a positive duration of at most 7d"),
        };
    }

    private static int Positive(Config c, string key, int fallback)
    {
        var value = c.GetInt(key, fallback);
        return value > 0 ? value : throw new ConfigurationException($"actormonitor.{key} must be a positive integer, not {value}");
    }

    private static StoreTarget ParseJournal(string spec)
    {
        try { return StoreTarget.Parse(spec); }
        catch (FormatException ex) { throw new ConfigurationException("actormonitor." + ex.Message); }
    }

    /// <summary>Celery's "here" utcoffset, evaluated at receive time unless fixed by configuration.</summary>
    public Func<long> HereUtcOffset => FixedUtcOffset is { } fixedOffset
        ? () => fixedOffset
        : () => UtcOffset.Local(DateTimeOffset.UtcNow);
}
