using System.Text;
using System.Text.Json;

namespace ActorMonitor.Cluster.Metrics;

/// <summary>
/// What a node's entities applied since its last live batch: the tasks changed (each once, in its
/// latest state, at most <see cref="MaxTasks"/>), the workers changed, and for the charts the
/// events applied by type and the task runtimes by name (<see cref="RuntimeBins"/>). Plain state
/// of <see cref="MetricsActor"/>, which publishes it on <see cref="LiveFeed.Topic"/>.
/// </summary>
public sealed class LiveBatch
{
    /// <summary>At most this many task changes per batch; past it the batch says "more" and dashboards re-read.</summary>
    public const int MaxTasks = 500;

    private readonly Dictionary<string, TaskObserved> _tasks = new(StringComparer.Ordinal);
    private readonly HashSet<string> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<int, long>> _runtimes = new(StringComparer.Ordinal);
    private int _droppedTasks;

    public bool IsEmpty => _tasks.Count == 0 && _workers.Count == 0 && _droppedTasks == 0 && _events.Count == 0;

    public void Task(TaskObserved o)
    {
        Event(o.Type);
        // A task-succeeded event carries the runtime Flower and celery-exporter chart.
        if (o.Type == "task-succeeded" && o.EventRuntime is { } runtime && double.IsFinite(runtime) && runtime >= 0)
        {
            if (!_runtimes.TryGetValue(o.Name, out var bins)) _runtimes[o.Name] = bins = new Dictionary<int, long>();
            var bin = RuntimeBins.Of(runtime);
            bins[bin] = bins.GetValueOrDefault(bin) + 1;
        }
        if (_tasks.Count < MaxTasks || _tasks.ContainsKey(o.Uuid)) _tasks[o.Uuid] = o;
        else _droppedTasks++;
    }

    public void Worker(string hostname) => _workers.Add(hostname);

    public void ForgetWorker(string hostname) => _workers.Remove(hostname);

    public void Event(string type) => _events[type] = _events.GetValueOrDefault(type) + 1;

    /// <summary>
    /// The batch as JSON, <c>{"at", "tasks", "more", "workers", "counts", "runtimes": {name: [[bin, n]]}}</c>,
    /// with each changed worker as <paramref name="worker"/> writes it; then empty again.
    /// </summary>
    public string Take(double now, Action<Utf8JsonWriter, string> worker)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("at", now);
            w.WriteStartArray("tasks");
            foreach (var t in _tasks.Values)
            {
                w.WriteStartObject();
                w.WriteString("uuid", t.Uuid);
                w.WriteString("type", t.Type);
                w.WriteString("name", t.Name);
                w.WriteString("state", t.State);
                w.WriteString("worker", t.Worker);
                MetricsActor.WriteNumber(w, "received", t.Received);
                MetricsActor.WriteNumber(w, "started", t.Started);
                MetricsActor.WriteNumber(w, "runtime", t.TaskRuntime);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBoolean("more", _droppedTasks > 0);
            w.WriteStartArray("workers");
            foreach (var h in _workers) worker(w, h);
            w.WriteEndArray();
            w.WriteStartObject("counts");
            foreach (var (type, n) in _events) w.WriteNumber(type, n);
            w.WriteEndObject();
            w.WriteStartObject("runtimes");
            foreach (var (name, bins) in _runtimes) RuntimeBins.Write(w, name, bins);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        _tasks.Clear();
        _workers.Clear();
        _events.Clear();
        _runtimes.Clear();
        _droppedTasks = 0;
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
