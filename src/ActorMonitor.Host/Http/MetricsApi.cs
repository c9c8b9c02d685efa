using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Metrics;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ActorMonitor.Host.Http;

/// <summary>
/// GET /metrics: this node's series in the Prometheus text format 0.0.4, in the names and labels
/// of Flower and celery-exporter. Scrape every node: summed over the nodes, counters and
/// histograms are the cluster's (each event counted by the node whose entity applied it), and
/// each worker's gauges come from the one node that hosts its entity (docs/metrics.md).
/// </summary>
public static class MetricsApi
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void Map(WebApplication app, MonitorNode node) =>
        app.MapGet("/metrics", async () =>
        {
            var text = await node.Metrics.Ask<MetricsText>(GetMetricsText.Instance, node.Settings.AskTimeout);
            return Results.Text(text.Text, ContentType);
        });
}
