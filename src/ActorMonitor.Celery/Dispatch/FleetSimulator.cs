using ActorMonitor.Celery.Receiver;

namespace ActorMonitor.Celery.Dispatch;

public sealed record SimulationOptions
{
    public int Workers { get; init; } = 4;
    public double TasksPerSecond { get; init; } = 10;
    public TimeSpan? Duration { get; init; }
    public double FailureRate { get; init; }
    public string Machine { get; init; } = Environment.MachineName.ToLowerInvariant();
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(2);
    public int Seed { get; init; } = 1;
}

public sealed record SimulationSummary(long Tasks, long Failed, long Events);

/// <summary>
/// A fleet of simulated Celery workers and a client, built on <see cref="EventDispatcher"/>:
/// worker-online, a worker-heartbeat every 2 s (freq 2.0), task lifecycles (task-sent by the
/// client; received, started, succeeded or failed by a worker, batched in task.multi), and
/// worker-offline at the end. For demos and load.
/// </summary>
public sealed class FleetSimulator(SimulationOptions options, Func<string, IEventTransport> transportFor, Action<string>? warn = null)
{
    private static readonly string[] TaskNames = ["sim.add", "sim.resize_image", "sim.send_email", "sim.charge_card"];

    private sealed class SimWorker(string hostname, EventDispatcher dispatcher)
    {
        public string Hostname { get; } = hostname;
        public EventDispatcher Dispatcher { get; } = dispatcher;
        public long Processed;
        public int Active;
    }

    private long _events;

    /// <summary>Events sent so far, for a live display while the fleet runs.</summary>
    public long EventsSent => Interlocked.Read(ref _events);

    public async Task<SimulationSummary> RunAsync(CancellationToken ct)
    {
        var rnd = new Random(options.Seed);
        var workers = Enumerable.Range(0, options.Workers).Select(i =>
        {
            var host = $"sim-{i:00}@{options.Machine}";
            return new SimWorker(host, new EventDispatcher(transportFor(host),
                new DispatcherOptions { Hostname = host, BufferGroups = new HashSet<string> { "task" } },
                new LamportClock(), pid: 20000 + i, warn: warn));
        }).ToList();
        var clientName = $"gen{Environment.ProcessId}@{options.Machine}";
        var client = new EventDispatcher(transportFor(clientName), new DispatcherOptions { Hostname = clientName, Enabled = false }, new LamportClock(), warn: warn);

        foreach (var w in workers) await SendAsync(w.Dispatcher, "worker-online", WorkerFields(w));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (options.Duration is { } d) stop.CancelAfter(d);
        var heartbeats = HeartbeatLoopAsync(workers, stop.Token);
        long tasks = 0, failed = 0;
        var started = DateTime.UtcNow;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                // Tasks due by now at the requested rate, then the next batch after a short pause.
                var due = (long)((DateTime.UtcNow - started).TotalSeconds * options.TasksPerSecond);
                for (; tasks < due && !stop.IsCancellationRequested; tasks++)
                    if (await RunTaskAsync(client, workers[(int)(tasks % workers.Count)], rnd)) failed++;
                foreach (var w in workers) await w.Dispatcher.FlushAsync(ct: CancellationToken.None);
                await Task.Delay(TimeSpan.FromMilliseconds(50), stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await heartbeats;
        foreach (var w in workers)
        {
            await w.Dispatcher.FlushAsync(ct: CancellationToken.None);
            await SendAsync(w.Dispatcher, "worker-offline", WorkerFields(w));
            await w.Dispatcher.FlushAsync(ct: CancellationToken.None);
        }
        await client.FlushAsync(ct: CancellationToken.None);
        return new SimulationSummary(tasks, failed, Interlocked.Read(ref _events));
    }

    private async Task<bool> RunTaskAsync(EventDispatcher client, SimWorker worker, Random rnd)
    {
        var uuid = Guid.NewGuid().ToString();
        var name = TaskNames[rnd.Next(TaskNames.Length)];
        var args = $"({rnd.Next(100)}, {rnd.Next(100)})";
        await client.PublishAsync("task-sent", [F("uuid", uuid), F("root_id", uuid), F("parent_id", null), F("name", name), F("args", args), F("kwargs", "{}"),
            F("retries", 0), F("eta", null), F("expires", null), F("queue", "celery"), F("exchange", ""), F("routing_key", "celery")]);
        Interlocked.Increment(ref _events);
        var d = worker.Dispatcher;
        await SendAsync(d, "task-received", [F("uuid", uuid), F("name", name), F("args", args), F("kwargs", "{}"), F("root_id", uuid), F("parent_id", null), F("retries", 0), F("eta", null), F("expires", null)]);
        Interlocked.Increment(ref worker.Active);
        Interlocked.Increment(ref worker.Processed);
        await SendAsync(d, "task-started", [F("uuid", uuid)]);
        var fails = rnd.NextDouble() < options.FailureRate;
        if (fails)
            await SendAsync(d, "task-failed", [F("uuid", uuid), F("exception", "ValueError('simulated failure')"),
                F("traceback", "Traceback (most recent call last):\n  File \"sim.py\", line 1, in run\nValueError: simulated failure\n")]);
        else
            await SendAsync(d, "task-succeeded", [F("uuid", uuid), F("result", rnd.Next(1000).ToString()), F("runtime", Math.Round(rnd.NextDouble() * 0.05, 6))]);
        Interlocked.Decrement(ref worker.Active);
        return fails;
    }

    private async Task HeartbeatLoopAsync(List<SimWorker> workers, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
                foreach (var w in workers) await SendAsync(w.Dispatcher, "worker-heartbeat", WorkerFields(w));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SendAsync(EventDispatcher d, string type, IEnumerable<KeyValuePair<string, object?>> fields)
    {
        await d.SendAsync(type, fields);
        Interlocked.Increment(ref _events);
    }

    private KeyValuePair<string, object?>[] WorkerFields(SimWorker w) =>
        [F("freq", options.HeartbeatInterval.TotalSeconds), F("active", Volatile.Read(ref w.Active)), F("processed", Interlocked.Read(ref w.Processed)),
         F("loadavg", new[] { 0.5, 0.4, 0.3 }), F("sw_ident", "actormonitor-sim"), F("sw_ver", "5.2.6"), F("sw_sys", "Linux")];

    private static KeyValuePair<string, object?> F(string k, object? v) => new(k, v);
}
