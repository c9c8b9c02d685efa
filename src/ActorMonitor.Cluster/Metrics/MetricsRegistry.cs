using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Cluster.Metrics;

/// <summary>What the worker gauges show of one worker at scrape time.</summary>
public sealed record WorkerGauge(string Hostname, bool Alive, double? Active);

/// <summary>
/// This node's series in the names, types and labels of Flower (<c>flower/events.py</c>,
/// PrometheusMetrics) and celery-exporter (<c>src/exporter.py</c>), and their text in the
/// Prometheus exposition format 0.0.4. Event series count the task events this node's entities
/// applied for the first time, so summed over the nodes they are the cluster's; worker gauges are
/// given at render time by the caller (the workers whose entities this node hosts).
/// </summary>
public sealed partial class MetricsRegistry
{
    /// <summary>prometheus_client's Histogram.DEFAULT_BUCKETS, the default of both tools.</summary>
    public static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

    /// <summary>Queue wait spans 50 ms to 30 min, as celery-exporter's queue-wait histogram.</summary>
    public static readonly double[] QueueWaitBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

    // celery-exporter's counters, one per task event type it handles (other types are not counted there).
    private static readonly string[] ExporterTypes =
        ["task-sent", "task-received", "task-started", "task-succeeded", "task-failed", "task-rejected", "task-revoked", "task-retried"];

    private readonly Family _events, _runtime, _prefetchTime, _prefetched, _online, _executing;
    private readonly Dictionary<string, Family> _exporterCounters = new(StringComparer.Ordinal);
    private readonly Family _exporterRuntime, _queueWait, _up, _tasksActive;
    private readonly Family _queueLength, _queueConsumers, _queueWorkers, _queueProcesses;
    private readonly List<Family> _all = [];
    private readonly Dictionary<string, double> _lastChanged = new(StringComparer.Ordinal);
    // (name, hostname, queue) label sets whose celery-exporter counters all exist (at 0 or more).
    private readonly HashSet<(string Name, string Hostname, string Queue)> _exporterLabelSets = new();

    public MetricsRegistry(double[]? runtimeBuckets = null)
    {
        var buckets = runtimeBuckets ?? DefaultBuckets;
        _events = Add("flower_events_total", "counter", "Task events applied, by worker, event type and task name (Flower)", ["worker", "type", "task"]);
        _runtime = Add("flower_task_runtime_seconds", "histogram", "Task runtime of events that carry one (Flower)", ["worker", "task"], buckets);
        _prefetchTime = Add("flower_task_prefetch_time_seconds", "gauge", "Started minus received of the last task started, 0 once it ended (Flower)", ["worker", "task"]);
        _prefetched = Add("flower_worker_prefetched_tasks", "gauge", "Tasks received and not yet started, by worker and task name (Flower)", ["worker", "task"]);
        _online = Add("flower_worker_online", "gauge", "1 while the worker's heartbeats have not expired (Celery's alive rule)", ["worker"]);
        _executing = Add("flower_worker_number_of_currently_executing_tasks", "gauge", "Tasks the worker reported active in its last heartbeat, 0 once it is down", ["worker"]);
        foreach (var type in ExporterTypes)
        {
            var subject = type["task-".Length..];
            string[] labels = type == "task-failed" ? ["name", "hostname", "exception", "queue_name"] : ["name", "hostname", "queue_name"];
            _exporterCounters[type] = Add($"celery_task_{subject}_total", "counter", $"{type} events applied (celery-exporter)", labels);
        }
        _exporterRuntime = Add("celery_task_runtime", "histogram", "Runtime of succeeded tasks (celery-exporter)", ["name", "hostname", "queue_name"], buckets);
        _queueWait = Add("celery_task_queue_wait_time", "histogram", "Started minus the later of sent and eta, for tasks whose task-sent was seen (celery-exporter)", ["name", "hostname", "queue_name"], QueueWaitBuckets);
        _up = Add("celery_worker_up", "gauge", "1 while the worker's heartbeats have not expired (Celery's alive rule)", ["hostname"]);
        _tasksActive = Add("celery_worker_tasks_active", "gauge", "Tasks the worker reported active in its last heartbeat, 0 once it is down", ["hostname"]);
        _queueLength = Add("celery_queue_length", "gauge", "Messages ready in the queue, by passive declare (celery-exporter)", ["queue_name"]);
        _queueConsumers = Add("celery_active_consumer_count", "gauge", "Consumers of the queue, by passive declare (celery-exporter)", ["queue_name"]);
        _queueWorkers = Add("celery_active_worker_count", "gauge", "Workers that consume the queue, by inspect active_queues (celery-exporter)", ["queue_name"]);
        _queueProcesses = Add("celery_active_process_count", "gauge", "Pool processes of the workers that consume the queue, by inspect stats (celery-exporter)", ["queue_name"]);
    }

    /// <summary>The queue gauges: exactly <paramref name="queues"/>, whatever an earlier sample had.</summary>
    public void SetQueues(IEnumerable<QueueSample> queues)
    {
        foreach (var f in new[] { _queueLength, _queueConsumers, _queueWorkers, _queueProcesses }) f.Clear();
        foreach (var q in queues)
        {
            _queueLength.Get(q.Queue).Value = q.Messages;
            _queueConsumers.Get(q.Queue).Value = q.Consumers;
            _queueWorkers.Get(q.Queue).Value = q.Workers;
            _queueProcesses.Get(q.Queue).Value = q.Processes;
        }
    }

    private Family Add(string name, string type, string help, string[] labels, double[]? buckets = null)
    {
        var f = new Family(name, type, help, labels, buckets);
        _all.Add(f);
        return f;
    }

    /// <summary>Every worker (or client) hostname some event series of this node carries.</summary>
    public IReadOnlyCollection<string> Hostnames => _lastChanged.Keys;

    /// <summary>When a series of <paramref name="hostname"/> last changed here (epoch seconds).</summary>
    public double? LastChanged(string hostname) => _lastChanged.TryGetValue(hostname, out var t) ? t : null;

    /// <summary>Counts one task event by the rules of both tools.</summary>
    public void Observe(TaskObserved o, double now)
    {
        _lastChanged[o.Hostname] = now;
        var worker = o.Hostname;

        // Flower: every task-* type, custom ones too; the name is the event's or else the task's.
        _events.Get(worker, o.Type, o.Name).Value++;
        if (o.EventRuntime is { } eventRuntime && eventRuntime != 0) _runtime.Get(worker, o.Name).Observe(eventRuntime);
        // Flower's prefetch metrics only count tasks without an eta that were received.
        if (!o.HasEta && o.Received is not null)
        {
            switch (o.Type)
            {
                case "task-received":
                    _prefetched.Get(worker, o.Name).Value++;
                    break;
                case "task-started" when o.Started is { } started:
                    _prefetchTime.Get(worker, o.Name).Value = started - o.Received.Value;
                    _prefetched.Get(worker, o.Name).Value--;
                    break;
                case "task-succeeded" or "task-failed" when o.Started is not null:
                    _prefetchTime.Get(worker, o.Name).Value = 0;
                    break;
                case "task-revoked" or "task-rejected" when o.Started is null:
                    _prefetched.Get(worker, o.Name).Value--;
                    break;
            }
        }

        // celery-exporter: its eight types; the others' series appear at 0 with the labels of
        // any event but task-sent (whose hostnames are clients).
        if (!_exporterCounters.TryGetValue(o.Type, out var counter)) return;
        bool created;
        if (o.Type == "task-failed") counter.Get(out created, o.Name, worker, ExceptionClass(o.Exception), o.Queue).Value++;
        else counter.Get(out created, o.Name, worker, o.Queue).Value++;
        // Once per label set: creating them is all the zero increments do (and each is a lookup).
        // A series that was there already was made by an event of this type that came here too,
        // or by this loop: its label set is known, no need to hash it again.
        if (created && o.Type != "task-sent" && _exporterLabelSets.Add((o.Name, worker, o.Queue)))
        {
            foreach (var (type, family) in _exporterCounters)
                if (type == "task-failed") family.Get(o.Name, worker, "", o.Queue);
                else family.Get(o.Name, worker, o.Queue);
        }
        if (o.Type == "task-succeeded" && o.TaskRuntime is { } runtime) _exporterRuntime.Get(o.Name, worker, o.Queue).Observe(runtime);
        if (o.Type == "task-started" && o.Started is { } s && o.Sent is { } sent)
            _queueWait.Get(o.Name, worker, o.Queue).Observe(Math.Max(0, s - Math.Max(sent, o.EtaEpoch ?? sent)));
    }

    /// <summary>Drops every series of <paramref name="hostname"/>; returns how many.</summary>
    public int Forget(string hostname)
    {
        _lastChanged.Remove(hostname);
        _exporterLabelSets.RemoveWhere(k => k.Hostname == hostname);
        return _all.Sum(f => f.RemoveHostname(hostname));
    }

    /// <summary>The exposition text: event series, then the gauges of <paramref name="workers"/>.</summary>
    public string Render(IEnumerable<WorkerGauge> workers)
    {
        foreach (var f in new[] { _online, _executing, _up, _tasksActive }) f.Clear();
        foreach (var w in workers)
        {
            _online.Get(w.Hostname).Value = w.Alive ? 1 : 0;
            _up.Get(w.Hostname).Value = w.Alive ? 1 : 0;
            if (w.Active is { } active)
            {
                // A worker that is down executes nothing, whatever its last heartbeat said.
                _executing.Get(w.Hostname).Value = w.Alive ? active : 0;
                _tasksActive.Get(w.Hostname).Value = w.Alive ? active : 0;
            }
        }
        var sb = new StringBuilder(4096);
        foreach (var f in _all) f.Write(sb);
        return sb.ToString();
    }

    /// <summary>celery-exporter's get_exception_class_name: "ValueError('x')" → "ValueError".</summary>
    public static string ExceptionClass(string? exception)
    {
        var m = exception is null ? null : ExceptionPattern().Match(exception);
        return m is { Success: true } ? m.Groups[1].Value : "UnknownException";
    }

    [GeneratedRegex(@"^(\w+)\(")]
    private static partial Regex ExceptionPattern();

    internal static string Number(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN" : RawJson.PythonFloatRepr(v);

    /// <summary>Up to four label values (no family has more), compared ordinally.</summary>
    private readonly record struct LabelValues(string? A, string? B, string? C, string? D)
    {
        public LabelValues(ReadOnlySpan<string> v)
            : this(v.Length > 0 ? v[0] : null, v.Length > 1 ? v[1] : null, v.Length > 2 ? v[2] : null, v.Length > 3 ? v[3] : null)
        {
            if (v.Length > 4) throw new ArgumentException("at most four labels", nameof(v));
        }
    }

    /// <summary>Series in the order of their label values, each compared ordinally.</summary>
    private sealed class LabelOrder : IComparer<string[]>
    {
        public static readonly LabelOrder Instance = new();

        public int Compare(string[]? x, string[]? y)
        {
            for (var i = 0; i < Math.Min(x!.Length, y!.Length); i++)
                if (string.CompareOrdinal(x[i], y[i]) is var c and not 0) return c;
            return x.Length.CompareTo(y.Length);
        }
    }

    private sealed class Series(string[] labels, double[]? bounds)
    {
        public string[] Labels { get; } = labels;
        public double Value { get; set; }
        public long[] BucketCounts { get; } = new long[bounds?.Length ?? 0];
        public double Sum { get; private set; }
        public long Count { get; private set; }

        public void Observe(double v)
        {
            bounds ??= [];
            for (var i = 0; i < bounds.Length; i++)
                if (v <= bounds[i]) BucketCounts[i]++;
            Sum += v;
            Count++;
        }
    }

    private sealed class Family(string name, string type, string help, string[] labelNames, double[]? buckets)
    {
        // Looked up once per event and per series: the key is the label values themselves, not a
        // string joined from them (that join was a sizeable share of all the node allocated).
        private readonly Dictionary<LabelValues, Series> _series = new();
        // The label that names the worker (or the client of task-sent): "worker" or "hostname".
        private readonly int _hostIx = Array.FindIndex(labelNames, l => l is "worker" or "hostname");

        public Series Get(params ReadOnlySpan<string> labels) => Get(out _, labels);

        public Series Get(out bool created, params ReadOnlySpan<string> labels)
        {
            var key = new LabelValues(labels);
            ref var s = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_series, key, out var existed);
            created = !existed;
            return s ??= new Series(labels.ToArray(), buckets);
        }

        public void Clear() => _series.Clear();

        public int RemoveHostname(string hostname)
        {
            if (_hostIx < 0) return 0;
            var keys = _series.Where(kv => kv.Value.Labels[_hostIx] == hostname).Select(kv => kv.Key).ToList();
            foreach (var k in keys) _series.Remove(k);
            return keys.Count;
        }

        public void Write(StringBuilder sb)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var s in _series.Values.OrderBy(s => s.Labels, LabelOrder.Instance))
            {
                if (buckets is null)
                {
                    Sample(sb, name, s.Labels, null, s.Value);
                    continue;
                }
                for (var i = 0; i < buckets.Length; i++) Sample(sb, name + "_bucket", s.Labels, Number(buckets[i]), s.BucketCounts[i]);
                Sample(sb, name + "_bucket", s.Labels, "+Inf", s.Count);
                Sample(sb, name + "_count", s.Labels, null, s.Count);
                Sample(sb, name + "_sum", s.Labels, null, s.Sum);
            }
        }

        private void Sample(StringBuilder sb, string sample, string[] values, string? le, double value)
        {
            sb.Append(sample).Append('{');
            for (var i = 0; i < values.Length; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(labelNames[i]).Append("=\"");
                Escape(sb, values[i]);
                sb.Append('"');
            }
            if (le is not null) sb.Append(values.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
            sb.Append("} ").Append(Number(value)).Append('\n');
        }

        private static void Escape(StringBuilder sb, string v)
        {
            foreach (var c in v)
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); break;
                    case '"': sb.Append("\\\""); break;
                    case '\n': sb.Append("\\n"); break;
                    default: sb.Append(c); break;
                }
            }
        }
    }
}
