using System.Globalization;
using System.Text.Json;
using ActorMonitor.Celery.Output;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Queries;
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

/// <summary>What every control route shares: the node, the broker, the known workers and tasks, the answers.</summary>
internal sealed class ControlContext(MonitorNode node, CeleryControl control, WorkerInspector inspector, ControlSettings settings)
{
    public MonitorNode Node => node;
    public CeleryControl Control => control;
    public WorkerInspector Inspector => inspector;
    public ControlSettings Settings => settings;

    public async Task<IResult> Guard(HttpContext http, Func<CancellationToken, Task<IResult>> handle, bool readForm = true)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        bounded.CancelAfter(settings.RequestTimeout);
        try
        {
            if (readForm) await FlowerArgs.ReadFormAsync(http, bounded.Token);
            return await handle(bounded.Token);
        }
        catch (FlowerHttpError e)
        {
            return Results.Text(e.Message, "text/plain; charset=utf-8", statusCode: e.Status);
        }
        catch (BrokerUnavailableException e)
        {
            Audit(http, http.Request.Path, "", "failed: " + e.Message);
            return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        catch (OperationCanceledException) when (bounded.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            var error = $"the broker did not answer within {settings.RequestTimeout.TotalSeconds:0.#} s";
            Audit(http, http.Request.Path, "", "failed: " + error);
            return Results.Json(new { error }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>The route's worker, when the events or an inspect answer know it; Flower's 404 otherwise.</summary>
    public Task<string> KnownWorker(HttpContext http, CancellationToken ct) => KnownWorker((string)http.Request.RouteValues["workername"]!, ct);

    public async Task<string> KnownWorker(string workername, CancellationToken ct)
    {
        if (inspector.Of(workername) is not null) return workername;
        var workers = await node.Queries.WorkersAsync(MonitorNode.WallClock(), ct);
        if (workers.Any(w => w.Hostname == workername)) return workername;
        // Not in the stored rows yet (or events are off): known if it answers.
        await inspector.RefreshAsync(workername, ct, ["stats"]);
        return inspector.Of(workername) is not null ? workername : throw new FlowerHttpError(404, $"Unknown worker '{workername}'");
    }

    /// <summary>A task name the events or a worker's registered tasks know (Flower: its app's registry); Flower's 404 otherwise.</summary>
    public async Task KnownTask(string taskname, CancellationToken ct)
    {
        if (inspector.RegisteredTasks().Contains(taskname)) return;
        if ((await node.Queries.TaskTypesAsync(ct)).Contains(taskname)) return;
        await inspector.RefreshAsync(null, ct, ["registered"]);
        if (!inspector.RegisteredTasks().Contains(taskname)) throw new FlowerHttpError(404, $"Unknown task '{taskname}'");
    }

    /// <summary>Flower's reading of a worker's answer: its "ok" is success, else its "error" (or "Unknown reason") with 403.</summary>
    public IResult Answer(HttpContext http, string action, string target, IReadOnlyList<ControlReply> replies, string worker,
        Func<string, string> message, Func<string, string> failure)
    {
        var mine = replies.FirstOrDefault(r => r.Hostname == worker)?.Result;
        if (mine is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty("ok", out var ok))
            return Done(http, action, target, new { message = message(ok.ValueKind == JsonValueKind.String ? ok.GetString()! : ok.GetRawText()) });
        var reason = mine is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty("error", out var err)
            ? err.ValueKind == JsonValueKind.String ? err.GetString()! : err.GetRawText()
            : replies.Count == 0 ? $"no answer from '{worker}' within {settings.ReplyTimeout.TotalSeconds:0.#} s" : "Unknown reason";
        Audit(http, action, target, "refused: " + reason);
        return Results.Text(failure(reason), "text/plain; charset=utf-8", statusCode: StatusCodes.Status403Forbidden);
    }

    public IResult Done(HttpContext http, string action, string target, object body)
    {
        Audit(http, action, target, "ok");
        return Results.Json(body);
    }

    /// <summary>One line per action: who (the credential's kind and the client's address), what, on what, and how it ended.</summary>
    public static void Audit(HttpContext http, string action, string target, string result)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        var who = authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) ? "basic " + BasicUser(authorization[6..])
            : authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? "bearer token"
            : "no credentials";
        CliLog.Info($"control: {who} from {http.Connection.RemoteIpAddress}: {action} {target}: {result}");
    }

    private static string BasicUser(string encoded)
    {
        try
        {
            var pair = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(encoded.Trim()));
            return pair.Split(':', 2)[0];
        }
        catch (FormatException)
        {
            return "?";
        }
    }
}

/// <summary>An answer with Flower's status and plain-text body (tornado's HTTPError log_message).</summary>
internal sealed class FlowerHttpError(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>Tornado's get_argument as Flower uses it: the query string or a form body, the last value wins; typed with Flower's 400s.</summary>
internal static class FlowerArgs
{
    public static async Task ReadFormAsync(HttpContext http, CancellationToken ct)
    {
        if (http.Request.HasFormContentType) await http.Request.ReadFormAsync(ct);
    }

    public static string? Optional(HttpContext http, string name)
    {
        string? value = null;
        if (http.Request.Query.TryGetValue(name, out var q) && q.Count > 0) value = q[^1];
        if (http.Request.HasFormContentType && http.Request.Form.TryGetValue(name, out var f) && f.Count > 0) value = f[^1]; // read by the guard
        return value?.Trim();
    }

    public static string Required(HttpContext http, string name) => Optional(http, name) ?? throw Missing(name);

    public static FlowerHttpError Missing(string name) => new(400, $"Missing argument {name}");

    public static int? Int(HttpContext http, string name) => Optional(http, name) is { } s
        ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new FlowerHttpError(400, $"Invalid argument '{s}' of type 'int'")
        : null;

    public static double? Float(HttpContext http, string name) => Optional(http, name) is { } s
        ? double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw new FlowerHttpError(400, $"Invalid argument '{s}' of type 'float'")
        : null;

    /// <summary>Python's strtobool, as Flower's get_argument(type=bool).</summary>
    public static bool? Bool(HttpContext http, string name) => Optional(http, name)?.ToLowerInvariant() switch
    {
        null => null,
        "y" or "yes" or "t" or "true" or "on" or "1" => true,
        "n" or "no" or "f" or "false" or "off" or "0" => false,
        var s => throw new FlowerHttpError(400, $"Invalid argument '{s}' of type 'bool'"),
    };
}
