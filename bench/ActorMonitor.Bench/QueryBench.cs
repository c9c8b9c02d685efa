using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ActorMonitor.Celery.Capture;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;

namespace ActorMonitor.Bench;

/// <summary>
/// The query side on a SQLite store of a large capture: the capture is streamed through a node
/// with the default limits (as MemoryBench does), then pages of 50 are asked of the node's HTTP
/// endpoint (/api/query/tasks and Flower's /api/tasks), each kind many times with varied
/// parameters: latency p50/p99. Then the read side's freshness on the live node: probe tasks are
/// fed one by one, each polled for on /api/query/tasks until it is listed: lag p50/p99 (the
/// store is written at each checkpoint, actormonitor.checkpoint.interval).
/// </summary>
public static class QueryBench
{
    private const int Repeats = 200;

    /// <summary>A slow kind stops earlier, with fewer requests (each kind reports how many).</summary>
    private static readonly TimeSpan BudgetPerKind = TimeSpan.FromSeconds(60);
    private const int Probes = 200;
    private const string ProbeName = "bench.probe";

    public static async Task<string> RunAsync(string capturePath, bool reuse)
    {
        var db = Path.Combine(Path.GetTempPath(), "actormonitor-bench-query.db");
        var built = !(reuse && File.Exists(db));
        if (built)
            foreach (var f in new[] { db, db + "-wal", db + "-shm" }) File.Delete(f);
        var system = await MonitorSystem.StartAsync(MonitorConfig.With(
            $"actormonitor.receiver.utcoffset = 0\nactormonitor.journal = \"sqlite:{db}\"\n" + Environment.GetEnvironmentVariable("BENCH_HOCON")));
        try
        {
            var node = await MonitorNode.StartAsync(system);
            var sw = Stopwatch.StartNew();
            if (built)
            {
                await using var file = File.OpenRead(capturePath);
                await CaptureFeeder.FeedAsync(node, file);
                await node.Queries.DrainAsync(TimeSpan.FromMinutes(10));
                await node.Queries.CheckpointAsync(TimeSpan.FromMinutes(5));
            }
            var ingestSeconds = sw.Elapsed.TotalSeconds;
            var events = (await node.Queries.ReceiverStatsAsync()).AcceptedEvents;
            Console.Error.WriteLine($"query: store ready ({events} events applied in {ingestSeconds:F0} s)");
            var port = FreePort();
            var app = await HttpEndpoint.StartAsync(node, null, $"127.0.0.1:{port}", CancellationToken.None);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(1) };
            try
            {
                var counts = JsonDocument.Parse(await http.GetStringAsync("/api/query/counts")).RootElement;
                var total = counts.GetProperty("total").GetInt64();
                var names = counts.GetProperty("by_name").EnumerateObject().Select(p => p.Name).ToArray();
                var workers = counts.GetProperty("by_worker").EnumerateObject().Select(p => p.Name).ToArray();
                var states = counts.GetProperty("by_state").EnumerateObject().Select(p => p.Name).ToArray();
                var oldest = JsonDocument.Parse(await http.GetStringAsync("/api/query/tasks?order=asc&limit=1")).RootElement.GetProperty("tasks")[0].GetProperty("received").GetDouble();
                // The capture's newest task, not a freshness probe of an earlier run on a reused store.
                names = names.Where(n => n != ProbeName).ToArray();
                var newest = 0.0;
                foreach (var name in names)
                    newest = Math.Max(newest, JsonDocument.Parse(await http.GetStringAsync($"/api/query/tasks?limit=1&name={Uri.EscapeDataString(name)}"))
                        .RootElement.GetProperty("tasks")[0].GetProperty("received").GetDouble());
                var rnd = new Random(7);
                string Pick(string[] a) => Uri.EscapeDataString(a[rnd.Next(a.Length)]);
                string Window(double seconds)
                {
                    var since = oldest + rnd.NextDouble() * Math.Max(0, newest - oldest - seconds);
                    return string.Create(CultureInfo.InvariantCulture, $"since={since:R}&until={since + seconds:R}");
                }
                var kinds = new (string Name, Func<string> Path)[]
                {
                    ("newest", () => $"/api/query/tasks?limit=50&offset={rnd.Next(0, 20) * 50}"),
                    ("state", () => $"/api/query/tasks?state={Pick(states)}&limit=50"),
                    ("name_time_range", () => $"/api/query/tasks?name={Pick(names)}&{Window(60)}&limit=50"),
                    ("worker_by_started", () => $"/api/query/tasks?worker={Pick(workers)}&sort=started&limit=50"),
                    ("search", () => $"/api/query/tasks?search={Uri.EscapeDataString($"bad input {rnd.Next(1, 1000)}")}&limit=50"),
                    ("flower_default", () => $"/api/tasks?limit=50&offset={rnd.Next(0, 20) * 50}"),
                    ("flower_state_sorted", () => $"/api/tasks?limit=50&state={Pick(states)}&sort_by=-started"),
                };
                var parts = new List<string>();
                foreach (var (name, path) in kinds)
                {
                    Console.Error.WriteLine($"query: {name}...");
                    await http.GetStringAsync(path()); // warm
                    var lat = new List<double>();
                    var budget = Stopwatch.StartNew();
                    var slowest = new List<(double Ms, string Path, int Gcs)>();
                    for (var i = 0; i < Repeats && budget.Elapsed < BudgetPerKind; i++)
                    {
                        var url = path();
                        var gcs = GC.CollectionCount(1);
                        var q = Stopwatch.StartNew();
                        using var r = await http.GetAsync(url);
                        await r.Content.ReadAsByteArrayAsync();
                        if (!r.IsSuccessStatusCode) throw new InvalidOperationException($"{url} answered {(int)r.StatusCode}");
                        lat.Add(q.Elapsed.TotalMilliseconds);
                        slowest.Add((lat[^1], url, GC.CollectionCount(1) - gcs));
                    }
                    // What the tail was made of: the requests and whether a gen1/gen2 collection ran meanwhile.
                    foreach (var (ms, url, gcs) in slowest.OrderByDescending(x => x.Ms).Take(3))
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"query: slow {ms:F1} ms {url} (gen1+ collections meanwhile: {gcs})"));
                    lat.Sort();
                    parts.Add(string.Create(CultureInfo.InvariantCulture, $"{name}_n={lat.Count} {name}_p50_ms={Pct(lat, 0.5):F2} {name}_p99_ms={Pct(lat, 0.99):F2}"));
                    Console.Error.WriteLine($"query: {parts[^1]}");
                }

                var lags = await FreshnessAsync(node, http);
                return string.Create(CultureInfo.InvariantCulture,
                    $"query tasks={total} build_seconds={(built ? ingestSeconds : 0):F1} build_events_per_s={(built ? events / ingestSeconds : 0):F0} db_mb={new FileInfo(db).Length / 1048576} {string.Join(' ', parts)} " +
                    $"fresh_probes={lags.Count} fresh_p50_ms={Pct(lags, 0.5):F1} fresh_p99_ms={Pct(lags, 0.99):F1} checkpoint_ms={node.Settings.CheckpointInterval.TotalMilliseconds:F0}");
            }
            finally
            {
                await app.StopAsync();
            }
        }
        finally
        {
            await system.Terminate();
        }
    }

    /// <summary>Feeds one new task at a time and polls /api/query/tasks (without fresh) until it is listed.</summary>
    private static async Task<List<double>> FreshnessAsync(MonitorNode node, HttpClient http)
    {
        var decoder = node.CreateDecoder();
        var lags = new List<double>();
        await using var ingest = node.CreateIngestClient();
        for (var i = 0; i < Probes; i++)
        {
            var marker = $"freshness-probe-{Guid.NewGuid():N}";
            var uuid = Guid.NewGuid().ToString();
            var now = MonitorNode.WallClock();
            var body = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["hostname"] = "celery@bench-probe", ["utcoffset"] = 0, ["pid"] = 4321, ["clock"] = 1_000_000 + i, ["uuid"] = uuid,
                ["name"] = ProbeName, ["args"] = $"('{marker}',)", ["kwargs"] = "{}", ["retries"] = 0, ["timestamp"] = now, ["type"] = "task-received",
            });
            var sw = Stopwatch.StartNew();
            await ingest.SendAsync("task.received", decoder.Decode(body), now);
            while (true)
            {
                // The newest probe by name: an index lookup, so the poll itself stays cheap.
                var page = JsonDocument.Parse(await http.GetStringAsync($"/api/query/tasks?name={ProbeName}&limit=1")).RootElement;
                if (page.GetProperty("tasks") is { } tasks && tasks.GetArrayLength() == 1 && tasks[0].GetProperty("uuid").GetString() == uuid) break;
                if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"probe {marker} never listed");
                await Task.Delay(2);
            }
            lags.Add(sw.Elapsed.TotalMilliseconds);
            await Task.Delay(Random.Shared.Next(0, 50)); // probes land anywhere in the checkpoint cycle
        }
        lags.Sort();
        return lags;
    }

    private static double Pct(List<double> l, double p) => l[(int)Math.Min(l.Count - 1, Math.Ceiling(p * l.Count) - 1)];

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
