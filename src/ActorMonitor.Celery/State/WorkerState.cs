using System.Globalization;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.State;

/// <summary>
/// Celery's events.state.Worker for one hostname: whole-event field copy, the 4-entry sorted
/// heartbeat list, freq * 2 expiry, the 16 s drift warning and worker-offline.
/// </summary>
public sealed class WorkerState
{
    public const int HeartbeatMax = 4;
    public const double HeartbeatDriftMax = 16;
    public const double ExpireWindow = 200; // percent of freq

    public static readonly string[] FieldNames =
        ["hostname", "pid", "freq", "clock", "active", "processed", "loadavg", "sw_ident", "sw_ver", "sw_sys"];

    private static readonly Dictionary<string, int> FieldIndex =
        FieldNames.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);

    private static readonly int FreqIx = FieldIndex["freq"];
    private static readonly int ClockIx = FieldIndex["clock"];
    private static readonly int PidIx = FieldIndex["pid"];

    private readonly string?[] _values = new string?[FieldNames.Length];
    private readonly List<double> _heartbeats = new(HeartbeatMax);
    private bool _driftWarned;
    private double _newest;

    public WorkerState(string hostname)
    {
        Hostname = hostname;
        _values[FieldIndex["hostname"]] = RawJson.String(hostname);
        _values[FreqIx] = "60";
        _values[FieldIndex["clock"]] = "0";
    }

    public string Hostname { get; }

    /// <summary>False until Celery's State would hold this worker (a worker-offline alone does not store it).</summary>
    public bool Exists { get; private set; }

    public IReadOnlyList<double> Heartbeats => _heartbeats;

    public double Freq => RawJson.AsNumber(_values[FreqIx]) ?? 60;

    public string? this[string field] => FieldIndex.TryGetValue(field, out var i) ? _values[i] : null;

    public static bool IsCopiedField(string name) => FieldIndex.ContainsKey(name);

    /// <summary>Applies one event; returns a drift warning the first time this worker drifts past 16 s.</summary>
    public DriftWarning? Apply(WorkerEvent ev)
    {
        if (ev.IsTaskHeartbeat)
        {
            Exists = true;
            // Celery's call worker.event(None, local_received, timestamp) swaps the two:
            // the stored heartbeat is the sender's event timestamp.
            return Heartbeat(timestamp: ev.LocalReceived, localReceived: ev.Timestamp);
        }

        var offline = ev.Subject == "offline";
        if (!Exists && offline) return null; // a transient Worker, never stored
        if (Exists && IsOlderThanApplied(ev))
        {
            // Reached us after a newer one (another receiver, a redelivery): its fields are history.
            StaleEvents++;
            return offline ? null : Heartbeat(ev.Timestamp, ev.LocalReceived);
        }
        Exists = true;
        foreach (var kv in ev.Fields)
            _values[FieldIndex[kv.Key]] = kv.Value;
        _newest = ev.Timestamp;
        if (offline)
        {
            _heartbeats.Clear();
            return null;
        }
        return Heartbeat(ev.Timestamp, ev.LocalReceived);
    }

    /// <summary>The sender's timestamp of the newest worker-* event whose fields were copied (kept in the row).</summary>
    public double NewestTimestamp { get => _newest; internal set => _newest = value; }

    /// <summary>worker-* events whose fields were not copied because a newer event of the same worker process was applied first.</summary>
    public long StaleEvents { get; private set; }

    /// <summary>
    /// A worker process's clock only grows, so within one process (same pid) a lower clock is an
    /// older event; one receiver taking events in order never sees one, and then this is exactly
    /// Celery. A restart starts a new sequence: a worker-online sent later than the newest event,
    /// or another pid; an event of another pid sent before the newest is the old process's.
    /// </summary>
    private bool IsOlderThanApplied(WorkerEvent ev)
    {
        string? pid = null, clock = null;
        foreach (var kv in ev.Fields)
        {
            if (kv.Key == "pid") pid = kv.Value;
            else if (kv.Key == "clock") clock = kv.Value;
        }
        if (pid != _values[PidIx]) return ev.Timestamp < _newest;
        if (ev.Subject == "online" && ev.Timestamp > _newest) return false;
        return RawJson.AsNumber(clock) < RawJson.AsNumber(_values[ClockIx]);
    }

    private DriftWarning? Heartbeat(double timestamp, double localReceived)
    {
        if (localReceived == 0 || timestamp == 0) return null;
        DriftWarning? warning = null;
        var drift = Math.Abs(Math.Truncate(localReceived) - Math.Truncate(timestamp));
        if (drift > HeartbeatDriftMax && !_driftWarned)
        {
            _driftWarned = true;
            warning = new DriftWarning(Hostname, drift, localReceived, timestamp);
        }

        var hearts = _heartbeats.Count;
        if (hearts > HeartbeatMax - 1) _heartbeats.RemoveAt(0);
        if (hearts > 0 && localReceived > _heartbeats[^1]) _heartbeats.Add(localReceived);
        else _heartbeats.Insert(BisectRight(_heartbeats, localReceived), localReceived);
        return warning;
    }

    private static int BisectRight(List<double> list, double x)
    {
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (x < list[mid]) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>heartbeat_expires = heartbeats[-1] + freq * (expire_window / 100).</summary>
    public double? HeartbeatExpires => _heartbeats.Count == 0 ? null : _heartbeats[^1] + Freq * (ExpireWindow / 1e2);

    public bool IsAlive(double asOf) => _heartbeats.Count > 0 && asOf < HeartbeatExpires!.Value;

    /// <summary>Writes everything <see cref="Read"/> needs to rebuild this worker exactly.</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(Exists);
        w.Write(_driftWarned);
        foreach (var v in _values) Durable.RowFormat.WriteNullable(w, v);
        w.Write(_heartbeats.Count);
        foreach (var h in _heartbeats) w.Write(h);
    }

    public static WorkerState Read(string hostname, BinaryReader r)
    {
        var s = new WorkerState(hostname) { Exists = r.ReadBoolean(), _driftWarned = r.ReadBoolean() };
        for (var i = 0; i < s._values.Length; i++) s._values[i] = Durable.RowFormat.ReadNullable(r);
        var hearts = r.ReadInt32();
        for (var i = 0; i < hearts; i++) s._heartbeats.Add(r.ReadDouble());
        return s;
    }

    public WorkerSnapshot ToSnapshot(double asOf) =>
        new(Hostname, FieldNames.Select((n, i) => new KeyValuePair<string, string?>(n, _values[i])).ToArray(),
            _heartbeats.ToArray(), IsAlive(asOf));
}

/// <summary>Celery's DRIFT_WARNING, logged once per hostname (its labels are swapped, as in Celery).</summary>
public sealed record DriftWarning(string Hostname, double Drift, double LocalReceived, double Timestamp)
{
    public override string ToString() => string.Format(CultureInfo.InvariantCulture,
        "Substantial drift from {0} may mean clocks are out of sync.  Current drift is {1} seconds.  [orig: {2:yyyy-MM-dd HH:mm:ss.ffffff} recv: {3:yyyy-MM-dd HH:mm:ss.ffffff}]",
        Hostname, Drift, DateTimeOffset.FromUnixTimeMilliseconds((long)(LocalReceived * 1000)).LocalDateTime,
        DateTimeOffset.FromUnixTimeMilliseconds((long)(Timestamp * 1000)).LocalDateTime);
}

/// <summary>A worker's state in the schema of the oracle (workers[hostname]).</summary>
public sealed record WorkerSnapshot(
    string Hostname,
    IReadOnlyList<KeyValuePair<string, string?>> Fields,
    IReadOnlyList<double> Heartbeats,
    bool Alive);
