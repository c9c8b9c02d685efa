using System.Net;
using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;
using ActorMonitor.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// The node's HTTP endpoint when a route throws: one line on the log with the route and the cause,
/// a JSON error for the client; requests are logged only at debug level. An in-process node (memory
/// journal, no broker) with one throwing route that only a test maps.
/// </summary>
public sealed class HttpDiagnosticsTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task A_route_that_throws_is_logged_once_with_the_route_and_the_cause_and_answers_a_json_error()
    {
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.journal = memory\nakka.loglevel = WARNING"));
        try
        {
            var node = await MonitorNode.StartAsync(system);
            foreach (var level in new[] { LogLevel.Warning, LogLevel.Debug })
            {
                var log = new StringWriter();
                var port = Repo.FreePort();
                var app = HttpEndpoint.Build(node, null, $"127.0.0.1:{port}", new HttpDiagnostics(log, level),
                    routes => routes.MapGet("/test/fail/{what}", (string what) => ThrowsAsync(what)));
                await app.StartAsync();
                try
                {
                    using (var failed = await Http.GetAsync($"http://127.0.0.1:{port}/test/fail/disk"))
                    {
                        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
                        Assert.Equal("application/json", failed.Content.Headers.ContentType?.MediaType);
                        using var body = JsonDocument.Parse(await failed.Content.ReadAsStringAsync());
                        Assert.Equal("internal error in /test/fail/{what}; the node's log has the cause",
                            body.RootElement.GetProperty("error").GetString());
                    }
                    using (var ok = await Http.GetAsync($"http://127.0.0.1:{port}/api/cluster"))
                        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                    await app.StopAsync(); // every request's line is written before the server stops

                    var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
                    var failure = Assert.Single(lines, l => l.Contains("failed"));
                    Assert.Equal("actormonitor: HTTP GET /test/fail/{what} failed: InvalidOperationException: the disk is gone", failure);
                    if (level == LogLevel.Debug)
                    {
                        Assert.Contains(lines, l => l.StartsWith("actormonitor: HTTP GET /test/fail/disk 500 in "));
                        Assert.Contains(lines, l => l.StartsWith("actormonitor: HTTP GET /api/cluster 200 in "));
                    }
                    else
                    {
                        Assert.Single(lines); // no request lines below debug
                    }
                }
                finally
                {
                    await app.DisposeAsync();
                }
            }
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task<IResult> ThrowsAsync(string what)
    {
        await Task.Yield();
        throw new InvalidOperationException($"the {what} is gone");
    }

    [Fact]
    public async Task The_endpoint_reads_no_configuration_file_and_so_watches_none()
    {
        var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.journal = memory\nakka.loglevel = WARNING"));
        try
        {
            var node = await MonitorNode.StartAsync(system);
            var app = HttpEndpoint.Build(node, null, $"127.0.0.1:{Repo.FreePort()}", new HttpDiagnostics(TextWriter.Null, LogLevel.None));
            // A watched content root is the working directory, recursively: every write below it woke the watcher.
            var files = ((Microsoft.Extensions.Configuration.IConfigurationBuilder)app.Configuration).Sources
                .OfType<Microsoft.Extensions.Configuration.FileConfigurationSource>().ToList();
            Assert.All(files, f => Assert.False(f.ReloadOnChange, $"{f.Path} is watched"));
            Assert.Equal(AppContext.BaseDirectory.TrimEnd('/'), app.Environment.ContentRootPath.TrimEnd('/'));
            await app.DisposeAsync();
        }
        finally
        {
            await system.Terminate();
        }
    }
}
