using Microsoft.Extensions.DependencyInjection;
using System.Globalization;
using System.Text.Json;
using ActorMonitor.Celery.Output;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Rabbit;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ActorMonitor.Host.Http;

/// <summary>The node's HTTP endpoint: the state for the CLI and users, and a health check.</summary>
public static class HttpEndpoint
{
    /// <param name="control">Celery's remote control on the node's broker; without it the control routes are not served.</param>
    public static async Task<WebApplication> StartAsync(MonitorNode node, BrokerStatus? broker, string address, CancellationToken ct, BrokerControl? control = null)
    {
        var security = HttpSecuritySettings.Load(node.System.Settings.Config, address);
        var app = Build(node, broker, address, HttpDiagnostics.ToStderr(), control: control, security: security);
        await app.StartAsync(ct);
        if (security.Key is { } key)
        {
            var port = new Uri(app.Urls.First()).Port;
            if (NodeKey.TryWrite(port, key) is { } failed)
                CliLog.Warning($"the node's key could not be written ({failed}): changes are taken from its own pages only");
            else
                app.Lifetime.ApplicationStopped.Register(() => NodeKey.Remove(port, key));
        }
        return app;
    }

    /// <param name="diagnostics">Where failed routes (and, at debug level, requests) are logged.</param>
    /// <param name="extraRoutes">For tests only: routes mapped after the node's own.</param>
    internal static WebApplication Build(MonitorNode node, BrokerStatus? broker, string address, HttpDiagnostics diagnostics, Action<WebApplication>? extraRoutes = null,
        BrokerControl? control = null, HttpSecuritySettings? security = null)
    {
        // No configuration file is read, so none is watched: by default the host watches its content
        // root (the working directory, recursively) for appsettings.json, and every write below it
        // (a database's files, say) woke that watcher.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        // Standard output is for data: ASP.NET's own console logs stay off; HttpDiagnostics logs to standard error.
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IStartupFilter>(diagnostics);
        // The node handles SIGTERM itself (final checkpoint, graceful leave); the web host's console
        // lifetime would let the runtime end the process as soon as the web host stopped.
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, NoSignalLifetime>();
        builder.WebHost.UseUrls($"http://{address}");
        var app = HttpSecurity.Build(builder, security ?? HttpSecuritySettings.Load(node.System.Settings.Config, address));
        ClusterApi.Map(app, node);

        app.MapGet("/api/state", async (HttpContext http) =>
        {
            double? asOf = null;
            if (http.Request.Query["as_of"] is { Count: > 0 } q)
            {
                if (!double.TryParse(q[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                    return Results.BadRequest(new { error = "as_of must be epoch seconds" });
                asOf = v;
            }
            StateDocument state;
            try
            {
                state = await node.Queries.StateAsync(asOf, http.RequestAborted);
            }
            catch (Exception ex) when (ex is InvalidOperationException or AskTimeoutException or TimeoutException)
            {
                // A checkpoint could not complete (store down, a node not answering): say so.
                return Results.Json(new { error = "the state cannot be read now: " + ex.GetBaseException().Message }, statusCode: 503);
            }
            // Streamed: the tasks are read from the store as they are written out.
            return Results.Stream(body => state.WriteToAsync(body, indented: false, http.RequestAborted), "application/json");
        });

        app.MapQueryApi(node).MapFlowerQueryApi(node, control?.Inspector);
        if (control is not null) ControlApi.Map(app, node, control.Control, control.Inspector, control.Settings);

        app.MapGet("/api/stats", async () =>
        {
            var stats = await node.Queries.StatsAsync();
            var store = stats.Store;
            return Results.Json(new
            {
                messages = stats.Messages, rejected = stats.Rejected, accepted_events = stats.AcceptedEvents,
                rejected_events = stats.RejectedEvents, clock = stats.Clock, in_flight = stats.InFlight,
                duplicate_events = stats.DuplicateEvents, duplicate_messages = stats.DuplicateMessages,
                awaiting_checkpoint = stats.AwaitingCheckpoint, checkpoint_failures = stats.CheckpointFailures,
                relayed_events = stats.RelayedEvents,
                store = new
                {
                    journal = store.Journal, live_tasks = store.LiveTasks, live_workers = store.LiveWorkers,
                    dirty = store.Dirty, commits = store.Commits, rows_written = store.RowsWritten,
                    commit_seconds = store.CommitSeconds,
                    failed_commits = store.FailedCommits, passivations = store.Passivations, rows_loaded = store.RowsLoaded,
                    failing = store.Failing, last_error = store.LastError,
                },
                rejections = stats.Rejections,
                cluster = ClusterApi.Membership(node),
                broker = broker is null ? null : new
                {
                    queue = broker.Queue, connected = broker.Connected, consumed = broker.Consumed, acked = broker.Acked,
                    overflowed = broker.Overflowed, reconnects = broker.Reconnects, last_error = broker.LastError,
                },
            });
        });

        app.MapGet("/healthcheck", async () =>
        {
            var member = Akka.Cluster.Cluster.Get(node.System).SelfMember.Status;
            var clusterOk = member == Akka.Cluster.MemberStatus.Up;
            var brokerOk = broker?.Connected ?? true;
            var stats = await node.Queries.ReceiverStatsAsync();
            var keeper = await node.Queries.KeeperStatsAsync();
            // A checkpoint waiting for a node that stopped answering is the cluster healing, not the journal failing.
            var journalOk = (stats.CheckpointFailures == 0 || stats.CheckpointWaitsForNode) && !keeper.StoreFailing;
            var body = $"cluster: {member}; broker: {(broker is null ? "n/a" : brokerOk ? "connected" : "disconnected (" + broker.LastError + ")")}; " +
                $"journal: {(journalOk ? "writable" : $"failing, {stats.CheckpointFailures} checkpoint(s) failed in a row ({keeper.LastError})")}";
            return clusterOk && brokerOk && journalOk ? Results.Text("OK " + body) : Results.Text("FAIL " + body, statusCode: 503);
        });

        MetricsApi.Map(app, node);
        DashboardApi.Map(app, node);
        extraRoutes?.Invoke(app);
        return app;
    }
}

/// <summary>What the control routes speak through: Celery's remote control on the node's broker, and what the workers last said of themselves.</summary>
public sealed record BrokerControl(CeleryControl Control, WorkerInspector Inspector, ControlSettings Settings);

/// <summary>A host lifetime that leaves process signals alone.</summary>
internal sealed class NoSignalLifetime : Microsoft.Extensions.Hosting.IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
