using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;
using ActorMonitor.Rabbit;
using ActorMonitor.Tests.Shared;
using Microsoft.Extensions.Logging;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// Who may use Celery's remote control through a node, and what a control call does when the
/// broker is gone: an in-process node (memory journal) whose broker address nobody listens on.
/// </summary>
public sealed class ControlSecurityTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };

    // The node's key, for the changes a node without credentials takes from clients.
    private static string? _key;

    private static async Task WithNodeAsync(string hocon, Func<string, Task> test)
    {
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.journal = memory\nakka.loglevel = WARNING\n" + hocon));
        try
        {
            var node = await MonitorNode.StartAsync(system);
            var port = Repo.FreePort();
            var settings = ControlSettings.Load(system.Settings.Config);
            await using var celery = new CeleryControl($"amqp://guest:guest@127.0.0.1:{Repo.FreePort()}//");
            var security = HttpSecuritySettings.Load(system.Settings.Config, $"127.0.0.1:{port}");
            _key = security.Key;
            var app = HttpEndpoint.Build(node, null, $"127.0.0.1:{port}", new HttpDiagnostics(TextWriter.Null, LogLevel.None),
                control: new BrokerControl(celery, new WorkerInspector(celery, settings.InspectTimeout), settings), security: security);
            await app.StartAsync();
            try { await test($"http://127.0.0.1:{port}"); }
            finally { await app.DisposeAsync(); }
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string url, string? token = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (token is not null) request.Headers.Authorization = new("Bearer", token);
        else if (_key is not null) request.Headers.Add(NodeKey.Header, _key);
        using var r = await Http.SendAsync(request);
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public Task Without_credentials_control_is_refused_on_loopback_and_reads_stay_open() => WithNodeAsync("", async url =>
    {
        foreach (var (method, path) in new[]
                 {
                     (HttpMethod.Post, "/api/worker/shutdown/w1@h"), (HttpMethod.Post, "/api/worker/pool/grow/w1@h?n=2"),
                     (HttpMethod.Post, "/api/task/revoke/abc?terminate=true"), (HttpMethod.Post, "/api/task/send-task/tasks.add"),
                 })
        {
            var (status, body) = await SendAsync(method, url + path);
            Assert.True(status == HttpStatusCode.Forbidden, $"{method} {path}: {status} {body}");
            Assert.Contains("--allow-control-without-credentials", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, url + "/api/workers")).Status);
        // An inspect only reads (as in Flower): open, and here the broker is gone, which it says.
        var (refreshed, why) = await SendAsync(HttpMethod.Get, url + "/api/workers?refresh=1");
        Assert.True(refreshed == HttpStatusCode.ServiceUnavailable, $"{refreshed} {why}");
        Assert.Contains("Failed to update workers", why);
    });

    [Fact]
    public Task Read_only_refuses_control_even_when_allowed_without_credentials() =>
        WithNodeAsync("actormonitor.http { read-only = on, control-without-credentials = on }", async url =>
        {
            var (status, body) = await SendAsync(HttpMethod.Post, url + "/api/task/revoke/abc");
            Assert.Equal(HttpStatusCode.Forbidden, status);
            Assert.Contains("read-only", body);
        });

    [Fact]
    public async Task With_a_token_control_needs_it_and_a_broker_that_is_gone_answers_503_within_the_bound()
    {
        var tokenFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(tokenFile, "s3cret");
        try
        {
            await WithNodeAsync($"actormonitor.http.token-file = \"{tokenFile}\"\nactormonitor.control.request-timeout = 8s", async url =>
            {
                Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Post, url + "/api/task/revoke/abc")).Status);
                foreach (var (method, path) in new[]
                         {
                             (HttpMethod.Post, "/api/task/revoke/abc"), (HttpMethod.Post, "/api/worker/shutdown/w1@h"),
                             (HttpMethod.Get, "/api/workers?refresh=1"), (HttpMethod.Get, "/api/queues/length"),
                         })
                {
                    var clock = Stopwatch.StartNew();
                    var (status, body) = await SendAsync(method, url + path, "s3cret");
                    Assert.True(status == HttpStatusCode.ServiceUnavailable, $"{method} {path}: {status} {body}");
                    Assert.Contains("cannot be reached", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(12), $"{path} took {clock.Elapsed}");
                }
            });
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public Task What_needs_a_result_backend_answers_501_with_the_reason() =>
        WithNodeAsync("actormonitor.http.control-without-credentials = on", async url =>
        {
            foreach (var (method, path) in new[] { (HttpMethod.Post, "/api/task/apply/tasks.add"), (HttpMethod.Get, "/api/task/result/abc"), (HttpMethod.Post, "/api/task/abort/abc") })
            {
                var (status, body) = await SendAsync(method, url + path);
                Assert.Equal(HttpStatusCode.NotImplemented, status);
                Assert.Contains("no result backend", JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
            }
        });
}
