using System.Text.Json;
using System.Text.RegularExpressions;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Host.Http;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using YamlDotNet.Serialization;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// deploy/grafana/dashboards/actormonitor.json against a live /metrics: every series a PromQL
/// expression of the dashboard names is one an in-process node exports, with samples, after it
/// applied a capture of real Celery workers (and a queue sample); and the dashboard uses the
/// datasource that Grafana's provisioning creates.
/// </summary>
public sealed partial class GrafanaDashboardTests
{
    private static readonly string DashboardFile = Repo.Path("deploy", "grafana", "dashboards", "actormonitor.json");

    private static readonly HashSet<string> Keywords = ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan"];

    private static List<string> Expressions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(DashboardFile));
        var exprs = new List<string>();
        foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
        {
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.True(targets.Count > 0, $"panel {panel.GetProperty("title")} has no query");
            exprs.AddRange(targets.Select(t => t.GetProperty("expr").GetString()!));
        }
        return exprs;
    }

    /// <summary>The metric names of a PromQL expression: identifiers that are not functions, keywords, labels or durations.</summary>
    internal static IEnumerable<string> MetricNames(string expr)
    {
        var s = StringLiteral().Replace(expr, "\"\"");
        s = Braces().Replace(s, " ");    // label matchers
        s = Brackets().Replace(s, " ");  // ranges, $__rate_interval
        s = Grouping().Replace(s, " ");  // by (...), without (...), on (...), ignoring (...)
        foreach (Match m in Identifier().Matches(s))
            if (!m.Groups["call"].Success && !Keywords.Contains(m.Groups["name"].Value.ToLowerInvariant())) yield return m.Groups["name"].Value;
    }

    [Fact]
    public void Metric_names_are_read_from_PromQL_as_Prometheus_would()
    {
        Assert.Equal(["celery_task_runtime_bucket"],
            MetricNames("histogram_quantile(0.9, sum by (le, name) (rate(celery_task_runtime_bucket{name=~\"a|b\", hostname!=\"x\"}[$__rate_interval])))"));
        Assert.Equal(["celery_task_runtime_sum", "celery_task_runtime_count"],
            MetricNames("sum(rate(celery_task_runtime_sum[5m])) / sum without (hostname) (rate(celery_task_runtime_count[5m]))"));
        Assert.Equal(["celery_worker_up"], MetricNames("max by (hostname) (celery_worker_up) == bool 1"));
    }

    [Fact]
    public async Task Every_series_the_dashboard_queries_is_one_a_node_exports()
    {
        var names = Expressions().SelectMany(MetricNames).ToHashSet();
        // The panels the dashboard is for.
        foreach (var wanted in new[] { "flower_events_total", "celery_task_succeeded_total", "celery_task_failed_total", "celery_task_runtime_bucket",
                     "celery_worker_up", "celery_queue_length" })
            Assert.Contains(wanted, names);

        var text = await LiveMetricsAsync();
        var types = TypeLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var sampled = text.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l[..l.IndexOfAny(['{', ' '])]).ToHashSet();
        foreach (var name in names)
        {
            // A histogram's series are its family's name with _bucket, _sum or _count.
            var family = new[] { "_bucket", "_sum", "_count" }.Where(name.EndsWith).Select(x => name[..^x.Length])
                .FirstOrDefault(f => types.GetValueOrDefault(f) == "histogram") ?? name;
            Assert.True(types.ContainsKey(family), $"the dashboard queries {name}, which /metrics does not list");
            if (family != name) Assert.Equal("histogram", types[family]);
            Assert.True(sampled.Contains(name), $"{name} has no sample on /metrics after a capture was applied");
        }
    }

    [Fact]
    public void The_dashboard_uses_the_provisioned_datasource_and_the_provider_loads_its_folder()
    {
        var yaml = new DeserializerBuilder().Build();
        var datasources = yaml.Deserialize<Dictionary<string, object>>(File.ReadAllText(Repo.Path("deploy", "grafana", "provisioning", "datasources", "prometheus.yml")));
        var ds = (Dictionary<object, object>)Assert.Single((List<object>)datasources["datasources"]);
        Assert.Equal(("prometheus", "http://prometheus:9090"), ((string)ds["type"], (string)ds["url"]));

        using var doc = JsonDocument.Parse(File.ReadAllText(DashboardFile));
        Assert.Equal("actormonitor", doc.RootElement.GetProperty("uid").GetString());
        foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
        {
            Assert.Equal(ds["uid"], panel.GetProperty("datasource").GetProperty("uid").GetString());
            foreach (var t in panel.GetProperty("targets").EnumerateArray())
                Assert.Equal(ds["uid"], t.GetProperty("datasource").GetProperty("uid").GetString());
        }

        var providers = yaml.Deserialize<Dictionary<string, object>>(File.ReadAllText(Repo.Path("deploy", "grafana", "provisioning", "dashboards", "actormonitor.yml")));
        var provider = (Dictionary<object, object>)Assert.Single((List<object>)providers["providers"]);
        Assert.Equal("file", provider["type"]);
        Assert.Equal("/var/lib/grafana/dashboards", ((Dictionary<object, object>)provider["options"])["path"]);
    }

    /// <summary>GET /metrics of an in-process node that applied real-mixed-1 and one queue sample.</summary>
    private static async Task<string> LiveMetricsAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"am-grafana-{Guid.NewGuid():N}.db");
        // The capture's workers went offline long ago: kept, so their gauges are there to query.
        var system = await MonitorSystem.StartAsync(MonitorConfig.With(
            $"actormonitor.receiver.utcoffset = 0\nactormonitor.journal = \"sqlite:{file}\"\nactormonitor.metrics.forget-workers-after = 3650d"));
        try
        {
            var node = await MonitorNode.StartAsync(system);
            using (var reader = File.OpenRead(Corpus.Capture("real-mixed-1")))
                await CaptureFeeder.FeedAsync(node, reader);
            await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            // What a node's sampler hands the metrics actor (it needs a broker: tested by QueueMetricsTests).
            node.Metrics.Tell(new QueueSamples([new QueueSample("celery", 3, 1, 1, 2)]));
            var port = Repo.FreePort();
            var app = await HttpEndpoint.StartAsync(node, null, $"127.0.0.1:{port}", CancellationToken.None);
            try
            {
                using var http = new HttpClient();
                return await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            }
            finally
            {
                await app.StopAsync();
            }
        }
        finally
        {
            await system.Terminate();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var f in new[] { file, file + "-wal", file + "-shm" }) File.Delete(f);
        }
    }

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", RegexOptions.IgnoreCase)]
    private static partial Regex Grouping();

    [GeneratedRegex(@"(?<![\w.$])(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<call>\s*\()?")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
