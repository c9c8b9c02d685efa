using System.Text.Json;

namespace ActorMonitor.Cluster.Metrics;

/// <summary>
/// The dashboard's charts over time for the whole cluster, as this node saw it since it started:
/// buckets of <see cref="Step"/> seconds holding the events applied by type, the task runtimes by
/// name (as <see cref="RuntimeBins"/>) and the workers online. Fed by every node's live batches,
/// each counted into the bucket of its arrival here, so a node's clock or a late batch never
/// rewrites a bucket already shown. Kept for <c>retention</c>; plain state, driven by <see cref="ChartActor"/>.
/// </summary>
public sealed class ChartSeries
{
    /// <summary>Past this many task names in one bucket, runtimes go under <see cref="OtherNames"/>.</summary>
    public const int MaxNamesPerBucket = 200;

    public const string OtherNames = "(other)";

    private readonly long _retainedBuckets;
    private readonly LinkedList<Bucket> _buckets = new();
    // Every worker heard of since this node started: when its heartbeats expire (null: offline).
    private readonly Dictionary<string, double?> _expires = new(StringComparer.Ordinal);

    public ChartSeries(TimeSpan step, TimeSpan retention)
    {
        Step = Math.Max(1, (long)step.TotalSeconds);
        _retainedBuckets = Math.Max(2, (long)Math.Ceiling(retention.TotalSeconds / Step));
    }

    /// <summary>Bucket width in seconds.</summary>
    public long Step { get; }

    /// <summary>Grows with every change, so a caller can tell whether there is anything new to push.</summary>
    public long Version { get; private set; }

    public int Buckets => _buckets.Count;

    /// <summary>One live batch (the JSON <see cref="MetricsActor"/> publishes) that arrived at <paramref name="now"/>.</summary>
    public void AddBatch(string batch, double now)
    {
        using var doc = JsonDocument.Parse(batch);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return;
        var bucket = BucketAt(now);
        if (root.TryGetProperty("counts", out var counts) && counts.ValueKind == JsonValueKind.Object)
            foreach (var c in counts.EnumerateObject())
                if (c.Value.TryGetInt64(out var n) && n > 0) Add(bucket.Events, c.Name, n);
        if (root.TryGetProperty("runtimes", out var runtimes) && runtimes.ValueKind == JsonValueKind.Object)
            foreach (var byName in runtimes.EnumerateObject())
            {
                var name = bucket.Runtimes.Count < MaxNamesPerBucket || bucket.Runtimes.ContainsKey(byName.Name) ? byName.Name : OtherNames;
                if (!bucket.Runtimes.TryGetValue(name, out var bins)) bucket.Runtimes[name] = bins = new Dictionary<int, long>();
                foreach (var pair in byName.Value.EnumerateArray())
                    if (pair.GetArrayLength() == 2 && pair[0].TryGetInt32(out var bin) && pair[1].TryGetInt64(out var n) && n > 0)
                        Add(bins, bin, n);
            }
        if (root.TryGetProperty("workers", out var workers) && workers.ValueKind == JsonValueKind.Array)
            foreach (var w in workers.EnumerateArray())
                if (w.TryGetProperty("hostname", out var h) && h.GetString() is { } hostname)
                    _expires[hostname] = w.TryGetProperty("heartbeat_expires", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : null;
        bucket.WorkersOnline = Online(now);
        Version++;
    }

    /// <summary>A tick: the workers online now go to the current bucket; buckets past the retention go.</summary>
    public void Sample(double now)
    {
        var bucket = BucketAt(now);
        var online = Online(now);
        if (bucket.WorkersOnline != online)
        {
            bucket.WorkersOnline = online;
            Version++;
        }
    }

    /// <summary>
    /// The buckets from <paramref name="since"/> (epoch seconds; the oldest kept when null) to now:
    /// <c>{"step", "now", "runtime_bins": {per_decade, offset}, "buckets": [{t, events, workers_online, runtimes}]}</c>.
    /// </summary>
    public void Write(Utf8JsonWriter w, double now, double? since = null)
    {
        BucketAt(now);
        w.WriteStartObject();
        w.WriteNumber("step", Step);
        w.WriteNumber("now", now);
        w.WriteStartObject("runtime_bins");
        w.WriteNumber("per_decade", RuntimeBins.PerDecade);
        w.WriteNumber("offset", RuntimeBins.Offset);
        w.WriteEndObject();
        w.WriteStartArray("buckets");
        foreach (var b in _buckets)
        {
            if (since is { } s && b.Start + Step <= s) continue;
            w.WriteStartObject();
            w.WriteNumber("t", b.Start);
            w.WriteStartObject("events");
            foreach (var (type, n) in b.Events) w.WriteNumber(type, n);
            w.WriteEndObject();
            if (b.WorkersOnline is { } online) w.WriteNumber("workers_online", online);
            else w.WriteNull("workers_online");
            w.WriteStartObject("runtimes");
            foreach (var (name, bins) in b.Runtimes) RuntimeBins.Write(w, name, bins.OrderBy(kv => kv.Key));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private int Online(double now) => _expires.Values.Count(e => e is { } x && now < x);

    /// <summary>The bucket holding <paramref name="now"/>, created (with any empty ones before it) when new.</summary>
    private Bucket BucketAt(double now)
    {
        var start = (long)Math.Floor(now / Step) * Step;
        if (_buckets.Last is { } last && last.Value.Start >= start) return last.Value; // a clock step back stays in the newest
        var from = _buckets.Last is { } l ? Math.Max(l.Value.Start + Step, start - (_retainedBuckets - 1) * Step) : start;
        for (var t = from; t <= start; t += Step) _buckets.AddLast(new Bucket(t) { WorkersOnline = _buckets.Last?.Value.WorkersOnline });
        while (_buckets.Count > _retainedBuckets) _buckets.RemoveFirst();
        Version++;
        return _buckets.Last!.Value;
    }

    private static void Add<TKey>(Dictionary<TKey, long> counts, TKey key, long n) where TKey : notnull =>
        counts[key] = counts.GetValueOrDefault(key) + n;

    private sealed class Bucket(long start)
    {
        public long Start { get; } = start;
        public Dictionary<string, long> Events { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Dictionary<int, long>> Runtimes { get; } = new(StringComparer.Ordinal);
        public int? WorkersOnline { get; set; }
    }
}

/// <summary>
/// Task runtimes as log-scale bins, <see cref="PerDecade"/> to a decade: bin b holds the runtimes
/// in (10^((b−1−Offset)/PerDecade), 10^((b−Offset)/PerDecade)] seconds, so a percentile read from
/// them is within one bin (about 15%) of the true value, whatever the number of tasks.
/// </summary>
public static class RuntimeBins
{
    public const int PerDecade = 16;

    /// <summary>Bin 0 holds every runtime up to 1 µs.</summary>
    public const int Offset = 6 * PerDecade;

    public const int Max = Offset + 7 * PerDecade; // up to 10^7 s

    public static int Of(double seconds) =>
        seconds <= 0 || !double.IsFinite(seconds) ? 0 : Math.Clamp((int)Math.Ceiling(Math.Log10(seconds) * PerDecade - 1e-9) + Offset, 0, Max);

    /// <summary>The upper bound of bin <paramref name="bin"/> in seconds.</summary>
    public static double UpperBound(int bin) => Math.Pow(10, (double)(bin - Offset) / PerDecade);

    /// <summary>One task name's bins as the live batches and the charts carry them: <c>"name": [[bin, n], ...]</c>.</summary>
    public static void Write(Utf8JsonWriter w, string name, IEnumerable<KeyValuePair<int, long>> bins)
    {
        w.WriteStartArray(name);
        foreach (var (bin, n) in bins)
        {
            w.WriteStartArray();
            w.WriteNumberValue(bin);
            w.WriteNumberValue(n);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }
}
