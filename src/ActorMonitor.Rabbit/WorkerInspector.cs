using System.Text.Json;

namespace ActorMonitor.Rabbit;

/// <summary>
/// What the workers said of themselves when last inspected, as Flower's Inspector keeps it: for
/// each worker, the answer to each of <see cref="Methods"/> and the time of the last answer. A
/// worker that does not answer keeps what it said before; the events tell the rest.
/// </summary>
public sealed class WorkerInspector(CeleryControl control, TimeSpan timeout)
{
    /// <summary>Flower's Inspector.methods, in its order; <c>active</c> is asked with safe=True as Flower does.</summary>
    public static readonly string[] Methods = ["stats", "active_queues", "registered", "scheduled", "active", "reserved", "revoked", "conf"];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, JsonElement>> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _answeredAt = new(StringComparer.Ordinal);
    // When each method was last asked of every worker (not of one).
    private readonly Dictionary<string, double> _everyWorkerAskedAt = new(StringComparer.Ordinal);

    public TimeSpan Timeout => timeout;

    /// <summary>
    /// Asks <paramref name="methods"/> of every worker unless all of them were asked of every worker
    /// within <paramref name="maxAge"/> and each of <paramref name="expected"/> (the workers known to
    /// be online) answered them: a route read often does not broadcast at each request.
    /// </summary>
    public async Task RefreshIfOlderAsync(IReadOnlyList<string> methods, TimeSpan maxAge, IEnumerable<string> expected, CancellationToken ct)
    {
        var now = CeleryControl.Epoch();
        bool fresh;
        lock (_gate)
            fresh = methods.All(m => _everyWorkerAskedAt.TryGetValue(m, out var at) && now - at < maxAge.TotalSeconds) &&
                expected.All(h => _workers.TryGetValue(h, out var info) && methods.All(info.ContainsKey));
        if (!fresh) await RefreshAsync(null, ct, methods);
    }

    /// <summary>
    /// Asks every method of <paramref name="workername"/> (every worker when null) at once and keeps
    /// the answers; returns the workers that answered some method this time.
    /// </summary>
    public async Task<IReadOnlySet<string>> RefreshAsync(string? workername, CancellationToken ct, IReadOnlyList<string>? methods = null)
    {
        var destination = workername is null ? null : new[] { workername };
        var answered = new HashSet<string>(StringComparer.Ordinal);
        var asked = (methods ?? Methods).Select(async method =>
        {
            var arguments = method == "active" ? new Dictionary<string, object?> { ["safe"] = true } : null;
            var replies = await control.BroadcastAsync(method, arguments, destination, reply: true, timeout, ct);
            lock (_gate)
                foreach (var r in replies)
                {
                    if (!_workers.TryGetValue(r.Hostname, out var info)) _workers[r.Hostname] = info = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                    info[method] = r.Result;
                    _answeredAt[r.Hostname] = CeleryControl.Epoch();
                    answered.Add(r.Hostname);
                }
            if (workername is null)
                lock (_gate) _everyWorkerAskedAt[method] = CeleryControl.Epoch();
        });
        await Task.WhenAll(asked);
        return answered;
    }

    /// <summary>What <paramref name="hostname"/> last said, by method, and when; null when it never answered.</summary>
    public (IReadOnlyDictionary<string, JsonElement> Answers, double At)? Of(string hostname)
    {
        lock (_gate)
            return _workers.TryGetValue(hostname, out var info)
                ? (new Dictionary<string, JsonElement>(info, StringComparer.Ordinal), _answeredAt[hostname])
                : null;
    }

    /// <summary>Every worker that ever answered.</summary>
    public IReadOnlyList<string> Hostnames
    {
        get { lock (_gate) return _workers.Keys.Order(StringComparer.Ordinal).ToList(); }
    }

    /// <summary>The task names some worker said it has registered (<c>registered</c> answers).</summary>
    public IReadOnlySet<string> RegisteredTasks()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
            foreach (var info in _workers.Values)
                if (info.TryGetValue("registered", out var list) && list.ValueKind == JsonValueKind.Array)
                    foreach (var n in list.EnumerateArray())
                        if (n.GetString() is { } s) names.Add(s.Split(' ', 2)[0]); // "name [rate_limit=...]" with taskinfoitems
        return names;
    }

    /// <summary>
    /// The first queue a worker that registered <paramref name="taskname"/> consumes, among the
    /// workers <paramref name="online"/> accepts (in name order); null when none said.
    /// </summary>
    public string? QueueOf(string taskname, Func<string, bool> online)
    {
        lock (_gate)
            foreach (var (hostname, info) in _workers.OrderBy(w => w.Key, StringComparer.Ordinal))
                if (online(hostname) && info.TryGetValue("registered", out var list) && list.ValueKind == JsonValueKind.Array &&
                    list.EnumerateArray().Any(n => n.GetString()?.Split(' ', 2)[0] == taskname) &&
                    info.TryGetValue("active_queues", out var queues) && queues.ValueKind == JsonValueKind.Array)
                    foreach (var q in queues.EnumerateArray())
                        if (q.ValueKind == JsonValueKind.Object && q.TryGetProperty("name", out var n) && n.GetString() is { } name) return name;
        return null;
    }

    /// <summary>The queue names the workers said they consume (<c>active_queues</c> answers), each once.</summary>
    public IReadOnlyList<string> ActiveQueueNames()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        lock (_gate)
            foreach (var info in _workers.Values)
                if (info.TryGetValue("active_queues", out var queues) && queues.ValueKind == JsonValueKind.Array)
                    foreach (var q in queues.EnumerateArray())
                        if (q.ValueKind == JsonValueKind.Object && q.TryGetProperty("name", out var n) && n.GetString() is { } s) names.Add(s);
        return names.ToList();
    }

    /// <summary>
    /// celery-exporter's per-queue figures: for each queue some of <paramref name="workers"/> said
    /// it consumes (<c>active_queues</c>), how many of them consume it and their pool processes
    /// (<c>stats</c>: the pool's processes, or its max-concurrency for a pool without processes).
    /// </summary>
    public IReadOnlyDictionary<string, (int Workers, int Processes)> QueueConsumers(IEnumerable<string> workers)
    {
        var result = new Dictionary<string, (int Workers, int Processes)>(StringComparer.Ordinal);
        lock (_gate)
            foreach (var hostname in workers.Distinct(StringComparer.Ordinal))
            {
                if (!_workers.TryGetValue(hostname, out var info) || !info.TryGetValue("active_queues", out var queues) || queues.ValueKind != JsonValueKind.Array) continue;
                var processes = info.TryGetValue("stats", out var stats) ? PoolProcesses(stats) : 0;
                foreach (var q in queues.EnumerateArray())
                    if (q.ValueKind == JsonValueKind.Object && q.TryGetProperty("name", out var n) && n.GetString() is { } name)
                    {
                        var (w, p) = result.GetValueOrDefault(name);
                        result[name] = (w + 1, p + processes);
                    }
            }
        return result;
    }

    /// <summary>The pool size a <c>stats</c> answer gives: <c>pool.processes</c> (prefork), else <c>pool.max-concurrency</c> (threads, solo...).</summary>
    public static int PoolProcesses(JsonElement stats)
    {
        if (stats.ValueKind != JsonValueKind.Object || !stats.TryGetProperty("pool", out var pool) || pool.ValueKind != JsonValueKind.Object) return 0;
        if (pool.TryGetProperty("processes", out var p) && p.ValueKind == JsonValueKind.Array) return p.GetArrayLength();
        return pool.TryGetProperty("max-concurrency", out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt32(out var c) ? c : 0;
    }
}
