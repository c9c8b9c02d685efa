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
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"am-workers-{Guid.NewGuid():N}.db");
    private ActorSystem _system = null!;
    private WebApplication _app = null!;
    private string _url = null!;

    private static string Name(int i) => $"fake{i:D5}@flood";

    public async Task InitializeAsync()
    {
        _system = await MonitorSystem.StartAsync(MonitorConfig.With($"actormonitor.journal = \"sqlite:{_file}\""));
        var node = await MonitorNode.StartAsync(_system);
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
        using (var reader = new MemoryStream(Encoding.UTF8.GetBytes(capture.ToString())))
            await CaptureFeeder.FeedAsync(node, reader);
        await node.Queries.DrainAsync(TimeSpan.FromSeconds(60));
        await node.Queries.CheckpointAsync(TimeSpan.FromSeconds(60));
        var port = Repo.FreePort();
        _url = $"http://127.0.0.1:{port}";
        _app = await HttpEndpoint.StartAsync(node, null, $"127.0.0.1:{port}", CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _system.Terminate();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in new[] { _file, _file + "-wal", _file + "-shm" }) File.Delete(f);
    }

    [Fact]
    public async Task Flowers_worker_list_is_paged_by_hostname_in_flowers_shape()
    {
        using var first = await Http.GetAsync(_url + "/api/workers");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(Workers.ToString(), Assert.Single(first.Headers.GetValues("X-Total-Count")));
        using var page = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        var names = page.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(Enumerable.Range(0, QueryApi.DefaultWorkerLimit).Select(Name), names);
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
