namespace ActorMonitor.Cluster.Metrics;

/// <summary>
/// One task event a task entity of this node has just applied for the first time (never a
/// redelivery), with what the metrics need of the task's merged state after it. The labels come
/// from the whole task, as in Flower and celery-exporter, because a task-succeeded event carries
/// no task name: only the task's entity knows it.
/// </summary>
public sealed record TaskObserved(
    string Uuid,
    string Type,
    string Hostname,
    string Name,
    string Queue,
    string? State,
    string? Worker,
    double? EventRuntime,
    double? TaskRuntime,
    string? Exception,
    bool HasEta,
    double? EtaEpoch,
    double? Sent,
    double? Received,
    double? Started);

/// <summary>Task events applied for the first time, gathered by the node's keeper.</summary>
public sealed record TasksObserved(IReadOnlyList<TaskObserved> Events);

/// <summary>
/// A worker entity of this node after it applied events, or as it started: what the worker
/// gauges and the dashboard need. <paramref name="LastEventAt"/>: local_received of the last
/// event this incarnation applied; <paramref name="Drift"/>: local_received − timestamp of its
/// last worker-* event (seconds), unknown after a restart until the next one;
/// <paramref name="Applied"/>: the types of the worker-* events applied for the first time since
/// the last report (none when the entity only started), for the dashboard's events by type.
/// </summary>
public sealed record WorkerObserved(
    string Hostname,
    IReadOnlyList<double> Heartbeats,
    double Freq,
    double? Active,
    double? Processed,
    string? LoadAverage,
    double? LastEventAt,
    double? Drift,
    bool Offline,
    IReadOnlyList<string>? Applied = null);

/// <summary>
/// The worker entity stopped on this node: passivated, or <paramref name="HandedOff"/> to another
/// node (a rebalance, this node leaving), which hosts its gauges from when the entity starts there.
/// </summary>
public sealed record WorkerReleased(string Hostname, bool HandedOff = false);

/// <summary>Asks for the exposition text; answered with <see cref="MetricsText"/>.</summary>
public sealed record GetMetricsText
{
    public static readonly GetMetricsText Instance = new();
}

public sealed record MetricsText(string Text);

/// <summary>Asks for the workers this node hosts, as last observed; answered with <see cref="HostedWorkers"/>.</summary>
public sealed record GetHostedWorkers
{
    public static readonly GetHostedWorkers Instance = new();
}

public sealed record HostedWorkers(IReadOnlyList<WorkerObserved> Workers);

/// <summary>
/// One sample of the broker's queues (celery-exporter's queue gauges) that the workers consume:
/// it replaces the previous one, so a queue left out drops its series.
/// </summary>
public sealed record QueueSamples(IReadOnlyList<QueueSample> Queues);

/// <param name="Messages">Messages ready in the queue (passive declare).</param>
/// <param name="Consumers">Consumers of the queue (passive declare).</param>
/// <param name="Workers">Workers that said they consume it (inspect active_queues).</param>
/// <param name="Processes">Pool processes of those workers (inspect stats).</param>
public sealed record QueueSample(string Queue, long Messages, long Consumers, int Workers, int Processes);
