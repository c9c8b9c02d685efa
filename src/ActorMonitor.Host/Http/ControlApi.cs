using System.Globalization;
using System.Text.Json;
using ActorMonitor.Celery.Output;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Rabbit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ActorMonitor.Host.Http;

/// <summary>
/// Flower 2.0.1's control routes (flower/api/control.py, tasks.py): the same URLs, parameters
/// (query string or form body), status codes and bodies, spoken to the workers through Celery's
/// remote control (<see cref="CeleryControl"/>). A worker is known when the events or an inspect
/// answer named it; a task name when the events or a worker's registered tasks did. Every action
/// is logged once (who, what, target, result); a broker that cannot be reached answers 503 within
/// <see cref="ControlSettings.RequestTimeout"/>. Credentials and read-only are <see cref="HttpSecurity"/>'s.
/// </summary>
public static class ControlApi
{
    public static void Map(WebApplication app, MonitorNode node, CeleryControl control, WorkerInspector inspector, ControlSettings settings)
    {
        var ctx = new ControlContext(node, control, inspector, settings);

        // {"message": "Shutting down!"}
        Post(app, "/api/worker/shutdown/{workername}", ctx, async (c, http, ct) =>
        {
            var worker = await c.KnownWorker(http, ct);
            await control.BroadcastAsync("shutdown", null, [worker], reply: false, settings.ReplyTimeout, ct);
            return c.Done(http, "shutdown", worker, new { message = "Shutting down!" });
        });

        // {"message": "Restarting 'celery@worker2' worker's pool"}; 403 "Failed to restart the 'celery@worker2' pool: REASON"
        Post(app, "/api/worker/pool/restart/{workername}", ctx, async (c, http, ct) =>
        {
            var worker = await c.KnownWorker(http, ct);
            var replies = await control.BroadcastAsync("pool_restart", Args(("reload", false)), [worker], reply: true, settings.ReplyTimeout, ct);
            return c.Answer(http, "pool restart", worker, replies, worker,
                _ => $"Restarting '{worker}' worker's pool", reason => $"Failed to restart the '{worker}' pool: {reason}");
        });

        // {"message": "Growing 'celery@worker2' worker's pool by 3"} (?n=, default 1)
        Post(app, "/api/worker/pool/grow/{workername}", ctx, async (c, http, ct) =>
        {
            var worker = await c.KnownWorker(http, ct);
            var n = FlowerArgs.Int(http, "n") ?? 1;
            var replies = await control.BroadcastAsync("pool_grow", Args(("n", n)), [worker], reply: true, settings.ReplyTimeout, ct);
            return c.Answer(http, $"pool grow by {n}", worker, replies, worker,
                _ => $"Growing '{worker}' worker's pool by {n}", reason => $"Failed to grow '{worker}' worker's pool: {reason}");
        });

        // {"message": "Shrinking 'celery@worker2' worker's pool by 1"}
        Post(app, "/api/worker/pool/shrink/{workername}", ctx, async (c, http, ct) =>
        {
            var worker = await c.KnownWorker(http, ct);
            var n = FlowerArgs.Int(http, "n") ?? 1;
            var replies = await control.BroadcastAsync("pool_shrink", Args(("n", n)), [worker], reply: true, settings.ReplyTimeout, ct);
            return c.Answer(http, $"pool shrink by {n}", worker, replies, worker,
                _ => $"Shrinking '{worker}' worker's pool by {n}", reason => $"Failed to shrink '{worker}' worker's pool: {reason}");
        });

        // {"message": "Autoscaling 'celery@worker2' worker (min=3, max=10)"}
        Post(app, "/api/worker/pool/autoscale/{workername}", ctx, async (c, http, ct) =>
        {
            var worker = await c.KnownWorker(http, ct);
            var min = FlowerArgs.Int(http, "min") ?? throw FlowerArgs.Missing("min");
            var max = FlowerArgs.Int(http, "max") ?? throw FlowerArgs.Missing("max");
            var replies = await control.BroadcastAsync("autoscale", Args(("min", min), ("max", max)), [worker], reply: true, settings.ReplyTimeout, ct);
            return c.Answer(http, $"autoscale min={min} max={max}", worker, replies, worker,
                _ => $"Autoscaling '{worker}' worker (min={min}, max={max})", reason => $"Failed to autoscale '{worker}' worker: {reason}");
        });

        // {"message": "add consumer sample-queue"} (the worker's own words)
        Post(app, "/api/worker/queue/add-consumer/{workername}", ctx, async (c, http, ct) =>
        {
            var worker = await c.KnownWorker(http, ct);
            var queue = FlowerArgs.Required(http, "queue");
            var replies = await control.BroadcastAsync("add_consumer", Args(("queue", queue)), [worker], reply: true, settings.ReplyTimeout, ct);
            return c.Answer(http, $"add consumer {queue}", worker, replies, worker,
                ok => ok, reason => $"Failed to add '{queue}' consumer to '{worker}' worker: {reason}");
        });

        // {"message": "no longer consuming from sample-queue"}
        Post(app, "/api/worker/queue/cancel-consumer/{workername}", ctx, async (c, http, ct) =>
        {
            var worker = await c.KnownWorker(http, ct);
            var queue = FlowerArgs.Required(http, "queue");
            var replies = await control.BroadcastAsync("cancel_consumer", Args(("queue", queue)), [worker], reply: true, settings.ReplyTimeout, ct);
            return c.Answer(http, $"cancel consumer {queue}", worker, replies, worker,
                ok => ok, reason => $"Failed to cancel '{queue}' consumer from '{worker}' worker: {reason}");
        });

        // {"message": "Revoked '1480b55c-b8b2-462c-985e-24af3e9158f9'"} (?terminate=, ?signal=, default SIGTERM); every worker is told
        Post(app, "/api/task/revoke/{taskid}", ctx, async (c, http, ct) =>
        {
            var id = (string)http.Request.RouteValues["taskid"]!;
            var terminate = FlowerArgs.Bool(http, "terminate") ?? false;
            var signal = FlowerArgs.Optional(http, "signal") ?? "SIGTERM";
            await control.BroadcastAsync("revoke", Args(("task_id", id), ("terminate", terminate), ("signal", signal)), null, reply: false,
                settings.ReplyTimeout, ct);
            return c.Done(http, terminate ? $"revoke, terminate with {signal}" : "revoke", id, new { message = $"Revoked '{id}'" });
        });

        // {"message": "new rate limit set successfully"} (?workername=, ?ratelimit=)
        Post(app, "/api/task/rate-limit/{taskname}", ctx, async (c, http, ct) =>
        {
            var task = (string)http.Request.RouteValues["taskname"]!;
            var workername = FlowerArgs.Required(http, "workername");
            var ratelimit = FlowerArgs.Required(http, "ratelimit");
            await c.KnownTask(task, ct);
            var worker = await c.KnownWorker(workername, ct);
            var replies = await control.BroadcastAsync("rate_limit", Args(("task_name", task), ("rate_limit", ratelimit)), [worker], reply: true,
                settings.ReplyTimeout, ct);
            return c.Answer(http, $"rate limit {ratelimit}", $"{task} on {worker}", replies, worker, ok => ok, reason => $"Failed to set rate limit: '{reason}'");
        });

        // {"message": "time limits set successfully"} (?workername=, ?soft=, ?hard=)
        Post(app, "/api/task/timeout/{taskname}", ctx, async (c, http, ct) =>
        {
            var task = (string)http.Request.RouteValues["taskname"]!;
            var workername = FlowerArgs.Required(http, "workername");
            var hard = FlowerArgs.Float(http, "hard");
            var soft = FlowerArgs.Float(http, "soft");
            await c.KnownTask(task, ct);
            var worker = await c.KnownWorker(workername, ct);
            var replies = await control.BroadcastAsync("time_limit", Args(("task_name", task), ("hard", hard), ("soft", soft)), [worker], reply: true,
                settings.ReplyTimeout, ct);
            return c.Answer(http, $"time limit soft={soft} hard={hard}", $"{task} on {worker}", replies, worker, ok => ok, reason => $"Failed to set timeouts: '{reason}'");
        });

        TaskSendApi.Map(app, ctx);
    }

    internal static IReadOnlyDictionary<string, object?> Args(params (string Name, object? Value)[] args) =>
        args.ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal);

    /// <summary>A control route: POST, its arguments read, the broker's and the request's time bounded.</summary>
    internal static void Post(WebApplication app, string pattern, ControlContext ctx, Func<ControlContext, HttpContext, CancellationToken, Task<IResult>> handle) =>
        Post(app, pattern, ctx, jsonBody: false, handle);

    /// <param name="jsonBody">The body is the route's JSON (Flower's task routes read it whatever its content type), not form arguments.</param>
    internal static void Post(WebApplication app, string pattern, ControlContext ctx, bool jsonBody, Func<ControlContext, HttpContext, CancellationToken, Task<IResult>> handle) =>
        app.MapPost(pattern, (Delegate)(async (HttpContext http) => await ctx.Guard(http, ct => handle(ctx, http, ct), readForm: !jsonBody)));
}

/// <summary>
/// Control settings, <c>actormonitor.control</c>: how long a command waits for the workers' replies
/// (Flower's broadcast timeout) and an inspect for theirs (Flower's --inspect_timeout), the bound
/// of a whole request, and the queue a task is sent to when nothing else names one.
/// </summary>
public sealed record ControlSettings(TimeSpan ReplyTimeout, TimeSpan InspectTimeout, TimeSpan RequestTimeout, string DefaultQueue)
{
    public static ControlSettings Load(Akka.Configuration.Config config)
    {
        var c = config.GetConfig("actormonitor.control");
        TimeSpan Span(string key, TimeSpan fallback) =>
            c?.GetTimeSpan(key, fallback) is { } t && t > TimeSpan.Zero ? t : throw new Akka.Configuration.ConfigurationException($"actormonitor.control.{key} must be a positive duration");
        return new ControlSettings(
            Span("reply-timeout", TimeSpan.FromSeconds(1)),
            Span("inspect-timeout", TimeSpan.FromSeconds(1)),
            Span("request-timeout", TimeSpan.FromSeconds(10)),
            c?.GetString("default-queue", "celery") ?? "celery");
    }
}
