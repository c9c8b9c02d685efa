using System.Reflection;
using System.Text;
using System.Text.Json;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Metrics;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorMonitor.Host.Http;

/// <summary>
/// The web dashboard: static files embedded in this assembly (GET /, /dashboard/*), the workers
/// it lists (GET /api/dashboard/workers) and the cluster's live updates as server-sent events
/// (GET /api/events/stream), and the charts' history (GET /api/dashboard/charts). The task list,
/// the worker page and the task page read the query API, Flower's /api/workers and /api/task/info/{uuid}.
/// </summary>
public static class DashboardApi
{
    /// <summary>How long a new stream waits for every member's batches to reach this node before its hello.</summary>
    private static readonly TimeSpan HelloWait = TimeSpan.FromSeconds(5);

    private static readonly Dictionary<string, string> Types = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
    };

    /// <summary>Workers the dashboard's feed gives when no limit is asked.</summary>
    public const int DefaultWorkerLimit = 500;

    public static void Map(WebApplication app, MonitorNode node)
    {
        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/dashboard/{file}", (string file) => Asset(file));

        // A page of the workers by hostname (limit, offset), with their total: anyone who can publish
        // events can make up worker names, and the page loads this on every visit.
        app.MapGet("/api/dashboard/workers", (Delegate)((HttpContext http) => QueryArgs.Guarded(http, async () =>
        {
            var (limit, offset) = QueryArgs.WorkerPage(http.Request.Query, DefaultWorkerLimit);
            var now = MonitorNode.WallClock();
            var workers = await WorkersAsync(node, http.RequestAborted);
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteNumber("now", now);
                w.WriteNumber("total", workers.Count);
                w.WriteNumber("limit", limit);
                w.WriteNumber("offset", offset);
                w.WriteStartArray("workers");
                foreach (var o in workers.OrderBy(o => o.Hostname, StringComparer.Ordinal).Skip(offset).Take(limit)) MetricsActor.WriteWorker(w, o, now);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            return Results.Bytes(buffer.ToArray(), "application/json");
        })));

        // The charts' buckets of the last `minutes` (default 15, at most the retention), kept live
        // afterwards by the stream's "chart" messages. Example answer (step 5 s, one bucket):
        // {"step":5,"now":1795431400.2,"runtime_bins":{"per_decade":16,"offset":96},"buckets":[{"t":1795431395,
        //  "events":{"task-received":12,"task-succeeded":11,"worker-heartbeat":2},"workers_online":2,
        //  "runtimes":{"tasks.add":[[78,9],[79,2]]}}]}
        app.MapGet("/api/dashboard/charts", async (HttpContext http) =>
        {
            var minutes = 15.0;
            if (http.Request.Query["minutes"] is { Count: > 0 } m &&
                (!double.TryParse(m[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out minutes)
                 || !double.IsFinite(minutes) || minutes <= 0 || minutes > node.Settings.ChartRetention.TotalMinutes))
                return Results.BadRequest(new { error = $"minutes must be a number in (0, {node.Settings.ChartRetention.TotalMinutes:0.##}]" });
            var since = MonitorNode.WallClock() - minutes * 60;
            var charts = await node.Charts.Ask<Charts>(new GetCharts(since), node.Settings.AskTimeout, http.RequestAborted);
            return Results.Text(charts.Json, "application/json");
        });

        app.MapGet("/api/events/stream", async (HttpContext http) =>
        {
            var response = http.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no"; // a proxy must not hold the stream back
            using var subscription = node.Live.Listen();
            // Ends with the request, or when the node stops: an open stream must not hold the shutdown.
            var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
            var ct = linked.Token;
            // Hello once every monitor member's batches reach this node (pub-sub spreads a new
            // node's subscription by gossip), so the stream misses nothing applied after it.
            // "complete": false says a member was not heard within the wait.
            bool complete;
            try { complete = await node.Live.EveryMemberReachesAsync(HelloWait, ct); }
            catch (OperationCanceledException) { return; }
            await WriteEventAsync(response, "hello", $"{{\"node\":{JsonSerializer.Serialize(node.Settings.NodeName)},\"complete\":{(complete ? "true" : "false")}}}", ct);
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    // A comment every 15 s keeps idle connections (and proxies) open.
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    wait.CancelAfter(TimeSpan.FromSeconds(15));
                    try
                    {
                        if (!await subscription.Reader.WaitToReadAsync(wait.Token)) break;
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        await response.WriteAsync(": keep-alive\n\n", ct);
                        await response.Body.FlushAsync(ct);
                        continue;
                    }
                    while (subscription.Reader.TryRead(out var message)) await WriteEventAsync(response, message.Event, message.Data, ct);
                }
            }
            catch (OperationCanceledException) { } // the browser went away
        });
    }

    private static async Task WriteEventAsync(HttpResponse response, string name, string data, CancellationToken ct)
    {
        await response.WriteAsync($"event: {name}\ndata: {data}\n\n", Encoding.UTF8, ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>
    /// Every worker of the cluster: the stored rows (every node's entities write theirs at each
    /// checkpoint), overlaid with what this node's own worker entities reported since (fresher,
    /// and with the clock drift, which is not stored).
    /// </summary>
    private static async Task<List<WorkerObserved>> WorkersAsync(MonitorNode node, CancellationToken ct)
    {
        var hosted = await node.Metrics.Ask<HostedWorkers>(GetHostedWorkers.Instance, node.Settings.AskTimeout);
        var byName = await Task.Run(() => node.Store.AllWorkers()
            .Select(kv => WorkerRecord.FromRow(kv.Key, kv.Value).State)
            .Where(s => s.Exists)
            .ToDictionary(s => s.Hostname, s => new WorkerObserved(s.Hostname, s.Heartbeats.ToArray(), s.Freq,
                RawJson.AsNumber(s["active"]), RawJson.AsNumber(s["processed"]), s["loadavg"], null, null, s.Heartbeats.Count == 0),
                StringComparer.Ordinal), ct);
        foreach (var w in hosted.Workers) byName[w.Hostname] = w;
        return byName.Values.ToList();
    }

    private static IResult Asset(string file)
    {
        var ext = Path.GetExtension(file);
        if (!Types.TryGetValue(ext, out var type) || file.Contains('/') || file.Contains('\\')) return Results.NotFound();
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard/" + file);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}
