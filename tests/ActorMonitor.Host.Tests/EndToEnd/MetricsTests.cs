using System.Diagnostics;
using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// GET /metrics of two node processes sharing one queue, read with prometheus_client's own text
/// parser: summed over the two nodes, the series are the corpus's event counts exactly (each
/// node counted only its share); a worker whose heartbeats expired reads 0; series of workers gone
/// longer than actormonitor.metrics.forget-workers-after disappear. Both nodes' event streams
/// carry every task's updates, whichever node applied them.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class MetricsTests(RabbitBroker broker, PostgresServer postgres, ITestOutputHelper output)
    : IClassFixture<RabbitBroker>, IClassFixture<PostgresServer>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public sealed record Sample(string Family, string Type, string Name, Dictionary<string, string> Labels, double Value)
    {
        public string? Host => Labels.GetValueOrDefault("worker") ?? Labels.GetValueOrDefault("hostname");
    }

    private const string CorpusName = "real-mixed-1";
    private const int ForgetAfterSeconds = 30;

    private static readonly string[] WorkerGauges =
        ["flower_worker_online", "celery_worker_up", "flower_worker_number_of_currently_executing_tasks", "celery_worker_tasks_active"];

    [Fact]
    public async Task Two_nodes_together_report_the_corpus_counts_expired_workers_read_0_and_gone_workers_are_forgotten()
    {
        var journal = await postgres.NewJournalAsync();
        var ports = new[] { Repo.FreePort(), Repo.FreePort() };
        var seeds = string.Join(",", ports.Select(p => $"akka.tcp://actormonitor@127.0.0.1:{p}"));
        var queue = $"metrics-{Guid.NewGuid():N}";
        string[] Args(int i) =>
        [
            "--journal", journal, "--node-id", queue, "--node-name", $"node-{i + 1}", "--akka-port", ports[i].ToString(), "--seed-nodes", seeds,
            "--config", $"actormonitor.receiver.utcoffset = 0\nactormonitor.metrics.forget-workers-after = {ForgetAfterSeconds}s",
        ];
        await using var a = await LiveNode.StartAsync(broker.Url, Args(0));
        await using var b = await LiveNode.StartAsync(broker.Url, Args(1));
        LiveNode[] nodes = [a, b];
        await a.WaitUntilAsync(async () => await UpMembersAsync(a) == 2, TimeSpan.FromSeconds(60), "two members up");

        // Each node's event stream carries the whole cluster's updates, whichever node applied them.
        using var streams = new CancellationTokenSource();
        var seen = nodes.Select(_ => new HashSet<string>()).ToArray();
        var readers = nodes.Select((n, i) => ReadStreamAsync(n, seen[i], streams.Token)).ToArray();
        await Task.WhenAll(readers.Select(r => r.Connected));

        var capture = Corpus.Capture(CorpusName);
        var total = File.ReadLines(capture).Count(l => l.Trim().Length > 0);
        var events = CaptureEvents(capture);
        Assert.Equal(0, (await Cli.RunAsync("publish", capture, "--broker", broker.Url)).ExitCode);
        await a.WaitUntilAsync(async () =>
        {
            long sum = 0;
            foreach (var n in nodes)
            {
                using var s = await n.StatsAsync();
                if (s.RootElement.GetProperty("in_flight").GetInt32() != 0) return false;
                sum += s.RootElement.GetProperty("messages").GetInt64();
            }
            return sum == total;
        }, TimeSpan.FromSeconds(60), "every message applied");

        var scrapes = await Task.WhenAll(nodes.Select(ScrapeAsync));
        var all = scrapes.SelectMany(s => s).ToList();
        output.WriteLine($"samples per node: {string.Join(", ", scrapes.Select(s => s.Count))}");

        // Summed over the nodes: exactly the corpus, type by type and worker by worker.
        var taskEvents = events.Where(e => e.Type.StartsWith("task-")).ToList();
        foreach (var g in taskEvents.GroupBy(e => (e.Hostname, e.Type)))
            Assert.Equal(g.Count(), Sum(all, "flower_events", "flower_events_total", l => l["worker"] == g.Key.Hostname && l["type"] == g.Key.Type));
        Assert.Equal(taskEvents.Count, Sum(all, "flower_events", "flower_events_total"));
        foreach (var type in new[] { "sent", "received", "started", "succeeded", "failed", "rejected", "revoked", "retried" })
            Assert.Equal(taskEvents.Count(e => e.Type == "task-" + type), Sum(all, $"celery_task_{type}", $"celery_task_{type}_total"));
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Corpus.Expected(CorpusName)));
        Assert.Equal(expected.RootElement.GetProperty("task_count").GetInt64(), Sum(all, "celery_task_received", "celery_task_received_total"));
        Assert.Equal(expected.RootElement.GetProperty("event_count").GetInt64(),
            Sum(all, "flower_events", "flower_events_total") + events.Count(e => e.Type.StartsWith("worker-")));
        var succeeded = taskEvents.Count(e => e.Type == "task-succeeded");
        Assert.Equal(succeeded, Sum(all, "celery_task_runtime", "celery_task_runtime_count"));
        Assert.Equal(succeeded, Sum(all, "flower_task_runtime_seconds", "flower_task_runtime_seconds_count"));
        Assert.Equal(succeeded, Sum(all, "celery_task_runtime", "celery_task_runtime_bucket", l => l["le"] == "+Inf"));
        // Labels from the task's whole state: a task-succeeded event has no name, the task has
        // (unless, with two receivers, it reached the task before the task-received did).
        Assert.True(Sum(all, "celery_task_succeeded", "celery_task_succeeded_total", l => l["name"] == "tasks.add") > succeeded / 2);
        Assert.Equal(taskEvents.Count(e => e.Type == "task-failed"),
            Sum(all, "celery_task_failed", "celery_task_failed_total", l => l["exception"] is "RuntimeError" or "ExceptionWithTraceback" or "Retry"));
        // Each node counted a share: the sum is what makes the cluster's figure.
        Assert.All(scrapes, s => Assert.True(Sum(s, "flower_events", "flower_events_total") > 0, "each node counted some events"));

        var uuids = events.Where(e => e.Uuid is not null).Select(e => e.Uuid!).ToHashSet();
        await a.WaitUntilAsync(() => Task.FromResult(seen.All(x => { lock (x) return x.SetEquals(uuids); })), TimeSpan.FromSeconds(10),
            "every task on both nodes' event streams");
        streams.Cancel();

        // Each worker's gauges come from the one node hosting its entity (after a rebalance, from
        // the node it moved to): the workers went offline, so they read 0.
        var gauges = WorkerGauges;
        foreach (var w in new[] { "w1@demo-1", "w2@demo-1" })
            await a.WaitUntilAsync(async () => Same(await WorkerGaugesAsync(nodes, w), gauges, 0), TimeSpan.FromSeconds(20), $"{w}'s gauges at 0");

        // A worker that stops sending heartbeats (no worker-offline): up while freq x 2 has not
        // passed since its last heartbeat, then 0, unlike Flower and celery-exporter.
        var lost = Path.Combine(Path.GetTempPath(), $"lost-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(lost, LostWorkerLine("lost@metrics", freq: 5) + "\n");
        Assert.Equal(0, (await Cli.RunAsync("publish", lost, "--broker", broker.Url)).ExitCode);
        File.Delete(lost);
        await a.WaitUntilAsync(async () =>
        {
            var g = await WorkerGaugesAsync(nodes, "lost@metrics");
            return Same(g, ["flower_worker_online", "celery_worker_up"], 1) && Same(g, ["flower_worker_number_of_currently_executing_tasks", "celery_worker_tasks_active"], 2);
        }, TimeSpan.FromSeconds(10), "lost@metrics up with 2 tasks active");
        await a.WaitUntilAsync(async () => Same(await WorkerGaugesAsync(nodes, "lost@metrics"), gauges, 0), TimeSpan.FromSeconds(30), "lost@metrics expired: its gauges at 0");

        // Gone longer than forget-workers-after: every series naming them disappears, on both nodes.
        var gone = new[] { "w1@demo-1", "w2@demo-1", "lost@metrics" };
        var clock = Stopwatch.StartNew();
        await a.WaitUntilAsync(async () =>
        {
            var now = (await Task.WhenAll(nodes.Select(ScrapeAsync))).SelectMany(s => s);
            return !now.Any(s => gone.Contains(s.Host));
        }, TimeSpan.FromSeconds(ForgetAfterSeconds * 4), "the gone workers' series to be dropped");
        output.WriteLine($"forgotten {clock.Elapsed.TotalSeconds:F1} s after the expiry was seen");
        Assert.Contains("Metrics: dropped", a.Process.Stderr + b.Process.Stderr);
    }

    /// <summary>The worker gauges of <paramref name="worker"/>, by name, from one scrape of every node; two nodes exporting one is a failure.</summary>
    private static async Task<Dictionary<string, double>> WorkerGaugesAsync(IEnumerable<LiveNode> nodes, string worker)
    {
        var found = (await Task.WhenAll(nodes.Select(ScrapeAsync))).SelectMany(s => s).Where(s => WorkerGauges.Contains(s.Name) && s.Host == worker).ToList();
        foreach (var g in found.GroupBy(s => s.Name)) Assert.True(g.Count() == 1, $"{g.Key}{{{worker}}} is exported by {g.Count()} nodes");
        return found.ToDictionary(s => s.Name, s => s.Value);
    }

    private static bool Same(Dictionary<string, double> gauges, IEnumerable<string> names, double value) =>
        names.All(n => gauges.TryGetValue(n, out var v) && v == value);

    private static double Sum(IEnumerable<Sample> samples, string family, string name, Func<Dictionary<string, string>, bool>? where = null) =>
        samples.Where(s => s.Family == family && s.Name == name && (where is null || where(s.Labels))).Sum(s => s.Value);

    /// <summary>GET /metrics, parsed by prometheus_client's text_string_to_metric_families (Debian's python3-prometheus-client).</summary>
    internal static async Task<List<Sample>> ScrapeAsync(LiveNode node)
    {
        using var response = await Http.GetAsync(node.Url + "/metrics");
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var text = await response.Content.ReadAsStringAsync();
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(Repo.Path("tests", "e2e", "prom_parse.py"));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardInput.WriteAsync(text);
        p.StandardInput.Close();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"prometheus_client could not parse /metrics: {await stderr}\n{text[..Math.Min(2000, text.Length)]}");
        using var doc = JsonDocument.Parse(await stdout);
        return doc.RootElement.EnumerateArray().Select(e => new Sample(
            e.GetProperty("family").GetString()!, e.GetProperty("type").GetString()!, e.GetProperty("name").GetString()!,
            e.GetProperty("labels").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString()!),
            e.GetProperty("value").ValueKind == JsonValueKind.String ? double.PositiveInfinity : e.GetProperty("value").GetDouble())).ToList();
    }

    private sealed record Stream(Task Connected, Task Done);

    /// <summary>Reads GET /api/events/stream, adding the uuid of every task update to <paramref name="uuids"/>.</summary>
    private static Stream ReadStreamAsync(LiveNode node, HashSet<string> uuids, CancellationToken ct)
    {
        var connected = new TaskCompletionSource();
        var done = Task.Run(async () =>
        {
            try
            {
                using var response = await Http.GetAsync(node.Url + "/api/events/stream", HttpCompletionOption.ResponseHeadersRead, ct);
                Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
                string? name = null;
                while (await reader.ReadLineAsync(ct) is { } line)
                {
                    if (line.StartsWith("event: ")) name = line[7..];
                    else if (line.StartsWith("data: ") && name == "hello")
                    {
                        // Sent once both nodes' batches are known to reach this one: nothing after it is missed.
                        using var hello = JsonDocument.Parse(line[6..]);
                        Assert.True(hello.RootElement.GetProperty("complete").GetBoolean(), $"hello {line[6..]}: every member's batches reach {node.Url}");
                        connected.TrySetResult();
                    }
                    else if (line.StartsWith("data: ") && name == "update")
                    {
                        using var batch = JsonDocument.Parse(line[6..]);
                        lock (uuids)
                            foreach (var t in batch.RootElement.GetProperty("tasks").EnumerateArray()) uuids.Add(t.GetProperty("uuid").GetString()!);
                    }
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception ex) { connected.TrySetException(ex); }
        });
        return new Stream(connected.Task, done);
    }

    /// <summary>Every decodable event of a capture: (type, hostname, uuid).</summary>
    private static List<(string Type, string Hostname, string? Uuid)> CaptureEvents(string capture)
    {
        var list = new List<(string, string, string?)>();
        foreach (var line in File.ReadLines(capture).Where(l => l.Trim().Length > 0))
        {
            using var rec = JsonDocument.Parse(line);
            using var body = JsonDocument.Parse(rec.RootElement.GetProperty("body").GetString()!);
            var events = body.RootElement.ValueKind == JsonValueKind.Array ? body.RootElement.EnumerateArray().ToList() : [body.RootElement];
            foreach (var e in events)
                list.Add((e.GetProperty("type").GetString()!, e.GetProperty("hostname").GetString()!, e.TryGetProperty("uuid", out var u) ? u.GetString() : null));
        }
        return list;
    }

    /// <summary>A capture line: a worker-online stamped now, then nothing (it never says offline).</summary>
    public static string LostWorkerLine(string hostname, double freq, int active = 2)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["hostname"] = hostname, ["utcoffset"] = 0, ["pid"] = 4242, ["clock"] = 1, ["freq"] = freq, ["active"] = active, ["processed"] = 7,
            ["loadavg"] = new[] { 0.5, 0.25, 0.1 }, ["sw_ident"] = "py-celery", ["sw_ver"] = "5.2.6", ["sw_sys"] = "Linux",
            ["timestamp"] = now, ["type"] = "worker-online",
        });
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["routing_key"] = "worker.online", ["headers"] = new Dictionary<string, string> { ["hostname"] = hostname },
            ["properties"] = new Dictionary<string, object> { ["content_type"] = "application/json", ["content_encoding"] = "utf-8", ["delivery_mode"] = 1 },
            ["body"] = body,
        });
    }

    private static async Task<int> UpMembersAsync(LiveNode node)
    {
        using var stats = await node.StatsAsync();
        var members = stats.RootElement.GetProperty("cluster").GetProperty("members").EnumerateArray().ToList();
        return members.All(m => m.GetProperty("status").GetString() == "Up" && m.GetProperty("reachable").GetBoolean()) ? members.Count : -1;
    }
}
