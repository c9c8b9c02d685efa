using System.Net;
using System.Text;
using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// Anyone who can publish to the broker can make up worker names: the worker lists come in pages
/// (limit, offset, a default limit), Flower's /api/workers keeping Flower's shape (an object by
/// hostname) with the total in X-Total-Count, the dashboard's feed with its total.
/// </summary>
public sealed class WorkerPagingTests : IAsyncLifetime
{
    private const int Workers = 2500;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private FedHttpNode _node = null!;
    private string _url = null!;

    private static string Name(int i) => $"fake{i:D5}@flood";

    public async Task InitializeAsync()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var capture = new StringBuilder();
        foreach (var i in Enumerable.Range(0, Workers).Reverse()) // not in name order
        {
            var body = JsonSerializer.Serialize(new { hostname = Name(i), utcoffset = 0, pid = 1, clock = 1, freq = 2.0, timestamp = now, type = "worker-online" });
            capture.AppendLine(JsonSerializer.Serialize(new
            {
                routing_key = "worker.online", headers = new { hostname = Name(i) },
                properties = new { content_type = "application/json", content_encoding = "utf-8" }, body, local_received = now,
            }));
        }
        using var reader = new MemoryStream(Encoding.UTF8.GetBytes(capture.ToString()));
        _node = await FedHttpNode.StartAsync(reader, checkpoint: true);
        _url = _node.Url;
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Flowers_worker_list_is_paged_by_hostname_in_flowers_shape()
    {
        using var first = await Http.GetAsync(_url + "/api/workers");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(Workers.ToString(), Assert.Single(first.Headers.GetValues("X-Total-Count")));
        using var page = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        var names = page.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(Enumerable.Range(0, FlowerQueryApi.DefaultWorkerLimit).Select(Name), names);
        Assert.Equal(Name(0), page.RootElement.GetProperty(Name(0)).GetProperty("hostname").GetString());

        using var later = JsonDocument.Parse(await Http.GetStringAsync(_url + "/api/workers?status=1&limit=3&offset=2498"));
        Assert.Equal([(Name(2498), true), (Name(2499), true)],
            later.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.GetBoolean())).ToList());
    }

    [Fact]
    public async Task The_dashboards_worker_feed_is_a_page_with_its_total()
    {
        using var first = JsonDocument.Parse(await Http.GetStringAsync(_url + "/api/dashboard/workers"));
        Assert.Equal(Workers, first.RootElement.GetProperty("total").GetInt32());
        Assert.Equal(DashboardApi.DefaultWorkerLimit, first.RootElement.GetProperty("limit").GetInt32());
        Assert.Equal(Enumerable.Range(0, DashboardApi.DefaultWorkerLimit).Select(Name),
            first.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("hostname").GetString()));

        using var next = JsonDocument.Parse(await Http.GetStringAsync(_url + "/api/dashboard/workers?limit=10&offset=500"));
        Assert.Equal(Enumerable.Range(500, 10).Select(Name),
            next.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("hostname").GetString()));
    }
}
