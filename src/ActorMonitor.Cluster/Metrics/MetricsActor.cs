using System.Text;
using System.Text.Json;
using ActorMonitor.Celery.Events;
using ActorMonitor.Client;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace ActorMonitor.Cluster.Metrics;

/// <summary>
/// One per monitor node. Counts the task events this node's task entities applied for the first
/// time (<see cref="TaskObserved"/>, gathered by the keeper as <see cref="TasksObserved"/>), holds the worker gauges of the worker entities this node
/// hosts (<see cref="WorkerObserved"/>, until <see cref="WorkerReleased"/>), renders /metrics,
/// drops every series of a worker gone longer than <c>actormonitor.metrics.forget-workers-after</c>,
/// and publishes the changes it saw as compact batches for the dashboards' live stream.
/// </summary>
public sealed class MetricsActor : ReceiveActor, IWithTimers
{
    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }

    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }

    private sealed record Liveness(string Hostname, WorkerSnapshotView? Worker);

    private sealed record Rehome(string Hostname);

    /// <summary>What the sweep needs of a worker entity's answer.</summary>
    private sealed record WorkerSnapshotView(bool Alive, IReadOnlyList<double> Heartbeats, double Freq);

    private readonly MetricsRegistry _registry;
    private readonly TimeSpan _forgetAfter;
    private readonly Func<double> _now;
    private readonly Func<IActorRef> _workerRegion;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, WorkerObserved> _hosted = new(StringComparer.Ordinal);
    // Workers whose series were dropped: their gauges stay away until they are seen alive again.
    private readonly HashSet<string> _forgotten = new(StringComparer.Ordinal);
    // When this node first found a worker down whose moment of going down it cannot know (offline, restored from a row).
    private readonly Dictionary<string, double> _firstSeenDown = new(StringComparer.Ordinal);
    private readonly HashSet<string> _asking = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _askedAt = new(StringComparer.Ordinal);
    private readonly LiveBatch _batch = new();
    private readonly IActorRef _mediator;

    /// <param name="mediator">Where the update batches go: the distributed pub-sub mediator (each batch is a <see cref="Publish"/> to <see cref="LiveFeed.Topic"/>).</param>
    public MetricsActor(MetricsRegistry registry, TimeSpan forgetAfter, Func<double> now, Func<IActorRef> workerRegion, IActorRef mediator, TimeSpan flushEvery)
    {
        _registry = registry;
        _forgetAfter = forgetAfter;
        _now = now;
        _workerRegion = workerRegion;
        _mediator = mediator;

        Receive<TasksObserved>(b =>
        {
            foreach (var o in b.Events)
            {
                _registry.Observe(o, _now());
                _batch.Task(o);
            }
        });
        Receive<WorkerObserved>(o =>
        {
            _hosted[o.Hostname] = o;
            if (o.Applied is { } applied)
                foreach (var type in applied) _batch.Event(type);
            if (IsAlive(o.Heartbeats, o.Freq, _now()))
            {
                _forgotten.Remove(o.Hostname);
                _firstSeenDown.Remove(o.Hostname);
            }
            if (!_forgotten.Contains(o.Hostname)) _batch.Worker(o.Hostname);
        });
        Receive<WorkerReleased>(r =>
        {
            // Handed off: the entity would start on its new node only with its next event, and a
            // worker that is down sends none. Asking it through the region starts it there now
            // (the region holds the message until the shard has its new home), and it reports.
            if (_hosted.Remove(r.Hostname) && r.HandedOff && !_forgotten.Contains(r.Hostname))
                Timers.StartSingleTimer("rehome-" + r.Hostname, new Rehome(r.Hostname), TimeSpan.FromMilliseconds(500));
        });
        Receive<Rehome>(r => Region()?.Tell(new GetWorker(r.Hostname, _now()), Self));
        Receive<WorkerReply>(_ => { }); // the answer to a Rehome: the new node's entity reports to its own metrics actor
        Receive<QueueSamples>(q => _registry.SetQueues(q.Queues));
        Receive<GetMetricsText>(_ => Sender.Tell(new MetricsText(_registry.Render(Gauges()))));
        Receive<GetHostedWorkers>(_ => Sender.Tell(new HostedWorkers(_hosted.Values.Where(w => !_forgotten.Contains(w.Hostname)).ToList())));
        Receive<Sweep>(_ => SweepGone());
        Receive<Liveness>(OnLiveness);
        Receive<Flush>(_ => PublishChanges());
        _flushEvery = flushEvery;
    }

    private readonly TimeSpan _flushEvery;

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("sweep", Sweep.Instance, SweepEvery(_forgetAfter));
        Timers.StartPeriodicTimer("flush", Flush.Instance, _flushEvery);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(MetricsRegistry registry, TimeSpan forgetAfter, Func<double> now, Func<IActorRef> workerRegion, IActorRef mediator,
        TimeSpan? flushEvery = null) =>
        Akka.Actor.Props.Create(() => new MetricsActor(registry, forgetAfter, now, workerRegion, mediator, flushEvery ?? TimeSpan.FromMilliseconds(300)));

    /// <summary>Often enough that a worker is forgotten within a quarter of the delay of its due time.</summary>
    public static TimeSpan SweepEvery(TimeSpan forgetAfter) =>
        TimeSpan.FromMilliseconds(Math.Clamp(forgetAfter.TotalMilliseconds / 4, 250, 15_000));

    /// <summary>How often a node asks about one worker hosted elsewhere: a quarter of the delay, at most once a minute.</summary>
    public static TimeSpan AskEvery(TimeSpan forgetAfter) =>
        TimeSpan.FromMilliseconds(Math.Clamp(forgetAfter.TotalMilliseconds / 4, 250, 60_000));

    /// <summary>The worker shard region; null once sharding has stopped (the node is leaving).</summary>
    private IActorRef? Region()
    {
        try
        {
            return _workerRegion();
        }
        catch (Exception)
        {
            return null; // "Shard type [worker] must be started first": sharding stopped with the node's leave
        }
    }

    /// <summary>Celery's Worker.alive: a heartbeat, and now before the last one plus freq × 2.</summary>
    public static bool IsAlive(IReadOnlyList<double> heartbeats, double freq, double now) =>
        heartbeats.Count > 0 && now < heartbeats[^1] + freq * 2;

    private IEnumerable<WorkerGauge> Gauges()
    {
        var now = _now();
        foreach (var w in _hosted.Values)
            if (!_forgotten.Contains(w.Hostname)) yield return new WorkerGauge(w.Hostname, IsAlive(w.Heartbeats, w.Freq, now), w.Active);
    }

    private void SweepGone()
    {
        var now = _now();
        var forget = _forgetAfter.TotalSeconds;
        foreach (var (hostname, w) in _hosted)
        {
            if (_forgotten.Contains(hostname)) continue;
            var since = DownSince(hostname, w.Heartbeats, w.Freq, w.LastEventAt, now);
            if (since is { } s && now - Math.Max(s, _registry.LastChanged(hostname) ?? s) > forget) Forget(hostname, "down");
        }
        // Series of workers hosted elsewhere (or of clients, for task-sent): ask the worker's
        // entity, once its series here were quiet for half the delay.
        foreach (var hostname in _registry.Hostnames.ToList())
        {
            if (_hosted.ContainsKey(hostname) || _asking.Contains(hostname)) continue;
            if (now - (_registry.LastChanged(hostname) ?? now) < forget / 2) continue;
            // An idle worker that is alive is asked again, but not at every sweep.
            if (_askedAt.TryGetValue(hostname, out var asked) && now - asked < AskEvery(_forgetAfter).TotalSeconds) continue;
            if (Region() is not { } region) return;
            _askedAt[hostname] = now;
            _asking.Add(hostname);
            var self = Self;
            region.Ask<WorkerReply>(new GetWorker(hostname, now), TimeSpan.FromSeconds(10)).ContinueWith(t =>
            {
                if (!t.IsCompletedSuccessfully) self.Tell(new Liveness(hostname, new WorkerSnapshotView(true, [], 0))); // unknown: keep, ask again later
                else if (t.Result.Worker is not { } snap) self.Tell(new Liveness(hostname, null));
                else
                {
                    var freq = RawJson.AsNumber(snap.Fields.FirstOrDefault(kv => kv.Key == "freq").Value) ?? 60;
                    self.Tell(new Liveness(hostname, new WorkerSnapshotView(snap.Alive, snap.Heartbeats, freq)));
                }
            });
        }
    }

    private void OnLiveness(Liveness l)
    {
        _asking.Remove(l.Hostname);
        if (_hosted.ContainsKey(l.Hostname) || _registry.LastChanged(l.Hostname) is not { } changed) return;
        var now = _now();
        double? since = l.Worker switch
        {
            null => changed, // not a worker (a client that sends tasks): forgotten once quiet that long
            { Alive: true } => null,
            // Offline: its last task event counted here is the best this node knows of when it went.
            var w => DownSince(l.Hostname, w.Heartbeats, w.Freq, changed, now),
        };
        if (since is { } s && now - Math.Max(s, changed) > _forgetAfter.TotalSeconds) Forget(l.Hostname, l.Worker is null ? "quiet" : "down");
        else if (since is null) _firstSeenDown.Remove(l.Hostname);
    }

    /// <summary>
    /// When the worker went down: its heartbeats' expiry, or, once they were cleared by
    /// worker-offline, the time of its last event when known here, else when this node first saw it down.
    /// </summary>
    private double? DownSince(string hostname, IReadOnlyList<double> heartbeats, double freq, double? lastEventAt, double now)
    {
        if (IsAlive(heartbeats, freq, now))
        {
            _firstSeenDown.Remove(hostname);
            return null;
        }
        if (heartbeats.Count > 0) return heartbeats[^1] + freq * 2;
        if (lastEventAt is { } t) return t;
        if (!_firstSeenDown.TryGetValue(hostname, out var first)) _firstSeenDown[hostname] = first = now;
        return first;
    }

    private void Forget(string hostname, string why)
    {
        var series = _registry.Forget(hostname);
        _askedAt.Remove(hostname);
        _forgotten.Add(hostname);
        _firstSeenDown.Remove(hostname);
        _batch.ForgetWorker(hostname);
        _log.Info("Metrics: dropped {0} series of {1} ({2} longer than {3})", series, hostname,
            why == "down" ? "gone" : "no event", _forgetAfter);
    }

    private void PublishChanges()
    {
        if (_batch.IsEmpty) return;
        var now = _now();
        var batch = _batch.Take(now, (w, hostname) =>
        {
            if (_hosted.TryGetValue(hostname, out var o)) WriteWorker(w, o, now);
        });
        _mediator.Tell(new Publish(LiveFeed.Topic, batch));
    }

    /// <summary>A worker in the dashboard's schema (also used by its HTTP route).</summary>
    public static void WriteWorker(Utf8JsonWriter w, WorkerObserved o, double now)
    {
        var alive = IsAlive(o.Heartbeats, o.Freq, now);
        w.WriteStartObject();
        w.WriteString("hostname", o.Hostname);
        w.WriteString("status", alive ? "online" : "offline");
        w.WriteBoolean("alive", alive);
        WriteNumber(w, "active", o.Active);
        WriteNumber(w, "processed", o.Processed);
        w.WritePropertyName("loadavg");
        if (o.LoadAverage is { } load) w.WriteRawValue(load);
        else w.WriteNullValue();
        WriteNumber(w, "freq", o.Freq);
        WriteNumber(w, "last_heartbeat", o.Heartbeats.Count > 0 ? o.Heartbeats[^1] : null);
        WriteNumber(w, "heartbeat_expires", o.Heartbeats.Count > 0 ? o.Heartbeats[^1] + o.Freq * 2 : null);
        WriteNumber(w, "drift", o.Drift);
        w.WriteEndObject();
    }

    internal static void WriteNumber(Utf8JsonWriter w, string name, double? v)
    {
        if (v is { } d && double.IsFinite(d)) w.WriteNumber(name, d);
        else w.WriteNull(name);
    }
}
