using System.Globalization;
using System.Text.Json;
using ActorMonitor.Rabbit;
using ActorMonitor.Store.Queries;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ActorMonitor.Host.Http;

/// <summary>
/// Sending work as Flower does (flower/api/tasks.py): a task message published for a worker to run
/// (its events then come back through the monitor), and the queues the workers consume with their
/// lengths. What needs a result backend (apply, result, abort) answers 501: the node has none.
/// </summary>
internal static class TaskSendApi
{
    private static readonly string[] Options = ["queue", "routing_key", "exchange", "countdown", "eta", "expires"];

    public static void Map(WebApplication app, ControlContext ctx)
    {
        // {"task-id": "a9a6a8b7-…"}; a task no worker registered and no event named: 404 "Unknown task 'NAME'"
        ControlApi.Post(app, "/api/task/async-apply/{taskname}", ctx, jsonBody: true, async (c, http, ct) =>
        {
            var name = (string)http.Request.RouteValues["taskname"]!;
            var (args, kwargs, options) = await ReadBodyAsync(http, ct);
            await c.KnownTask(name, ct);
            // Unless the options say otherwise: where its tasks went before (their routing key), else a
            // queue of a worker that registered it (Flower knows the app's routes; this node only what it saw).
            // (Tasks this node sent carry no routing key: no task-sent comes back for them.)
            var page = await c.Node.Queries.TasksAsync(new TaskQuery { Name = name, Limit = 20 }, ct: ct);
            var routed = page.Tasks.Select(t => t.Field("routing_key") is { } rk ? JsonSerializer.Deserialize<string?>(rk) : null).FirstOrDefault(r => r is not null);
            if (routed is null && !options.ContainsKey("queue") && !options.ContainsKey("routing_key"))
            {
                var now = Cluster.Hosting.MonitorNode.WallClock();
                // Online by the events; a worker the events never named (events off) answered an inspect, so it is taken too.
                var known = (await c.Node.Queries.WorkersAsync(now, ct)).ToDictionary(w => w.Hostname, w => w.Alive, StringComparer.Ordinal);
                bool Online(string hostname) => known.GetValueOrDefault(hostname, true);
                if (c.Inspector.QueueOf(name, Online) is null) await c.Inspector.RefreshAsync(null, ct, ["registered", "active_queues"]);
                routed = c.Inspector.QueueOf(name, Online);
            }
            return await SendAsync(c, http, name, args, kwargs, options, routed, ct);
        });

        // {"task-id": "…"}: sent whether or not any worker knows the name, as Celery's send_task does
        ControlApi.Post(app, "/api/task/send-task/{taskname}", ctx, jsonBody: true, async (c, http, ct) =>
        {
            var name = (string)http.Request.RouteValues["taskname"]!;
            var (args, kwargs, options) = await ReadBodyAsync(http, ct);
            return await SendAsync(c, http, name, args, kwargs, options, null, ct);
        });

        foreach (var pattern in new[] { "/api/task/apply/{taskname}", "/api/task/abort/{taskid}" })
            app.MapPost(pattern, () => NoBackend());
        app.MapGet("/api/task/result/{taskid}", () => NoBackend());

        // {"active_queues": [{"name": "celery", "messages": 0}]}: the queues the workers said they consume, by passive declare
        app.MapGet("/api/queues/length", (Delegate)(async (HttpContext http) => await ctx.Guard(http, async ct =>
        {
            // Every worker's queues, asked again when older than a few seconds (a worker may have come, or added one).
            var online = (await ctx.Node.Queries.WorkersAsync(Cluster.Hosting.MonitorNode.WallClock(), ct)).Where(w => w.Alive).Select(w => w.Hostname);
            await ctx.Inspector.RefreshIfOlderAsync(["active_queues"], TimeSpan.FromSeconds(5), online, ct);
            var queues = new List<object>();
            foreach (var q in ctx.Inspector.ActiveQueueNames())
                if (await ctx.Control.QueueLengthAsync(q, ct) is { } n) queues.Add(new { name = q, messages = n.Messages });
            return Results.Json(new Dictionary<string, object> { ["active_queues"] = queues });
        })));
    }

    private static IResult NoBackend() => Results.Json(
        new { error = "ActorMonitor has no result backend: results are not stored, so a task cannot be waited for, read back or aborted here (task events show its state and result)" },
        statusCode: StatusCodes.Status501NotImplemented);

    private static async Task<IResult> SendAsync(ControlContext c, HttpContext http, string name, JsonElement args, JsonElement kwargs,
        Dictionary<string, JsonElement> options, string? routed, CancellationToken ct)
    {
        string? Text(string key) => options.TryGetValue(key, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Invalid() : null;
        var queue = Text("queue");
        var exchange = Text("exchange") ?? "";
        // A queue is reached by its name through the default exchange, as Celery's auto-declared queues are.
        var routingKey = Text("routing_key") ?? queue ?? routed ?? c.Settings.DefaultQueue;
        DateTimeOffset? eta = null, expires = null;
        if (options.TryGetValue("countdown", out var countdown)) eta = DateTimeOffset.UtcNow.AddSeconds(Seconds(countdown));
        if (options.TryGetValue("eta", out var e)) eta = FlowerDate(e);
        if (options.TryGetValue("expires", out var x))
            expires = x.ValueKind == JsonValueKind.Number || x.ValueKind == JsonValueKind.String && double.TryParse(x.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                ? DateTimeOffset.UtcNow.AddSeconds(Seconds(x)) : FlowerDate(x);
        var id = await c.Control.SendTaskAsync(new TaskMessage(name, args, kwargs, exchange, routingKey, eta, expires), ct);
        return c.Done(http, $"send task {name} to {(exchange.Length > 0 ? exchange + "/" : "")}{routingKey}", id, new Dictionary<string, string> { ["task-id"] = id });
    }

    /// <summary>Flower's get_task_args: a JSON object body (or none) with args (an array), kwargs (an object) and options.</summary>
    private static async Task<(JsonElement Args, JsonElement Kwargs, Dictionary<string, JsonElement> Options)> ReadBodyAsync(HttpContext http, CancellationToken ct)
    {
        JsonElement body;
        using (var reader = new StreamReader(http.Request.Body))
        {
            var text = await reader.ReadToEndAsync(ct);
            try { body = text.Length == 0 ? JsonDocument.Parse("{}").RootElement : JsonDocument.Parse(text).RootElement; }
            catch (JsonException ex) { throw new FlowerHttpError(400, "the body is not JSON: " + ex.Message); }
        }
        if (body.ValueKind != JsonValueKind.Object) throw new FlowerHttpError(400, "invalid options");
        var args = JsonDocument.Parse("[]").RootElement;
        var kwargs = JsonDocument.Parse("{}").RootElement;
        var options = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in body.EnumerateObject())
        {
            if (p.Name == "args") args = p.Value.ValueKind == JsonValueKind.Array ? p.Value : throw new FlowerHttpError(400, "args must be an array");
            else if (p.Name == "kwargs") kwargs = p.Value.ValueKind == JsonValueKind.Object ? p.Value : throw new FlowerHttpError(400, "kwargs must be an object");
            else if (Options.Contains(p.Name)) options[p.Name] = p.Value;
            else throw new FlowerHttpError(400, $"unsupported option '{p.Name}': one of {string.Join(", ", Options)}");
        }
        return (args, kwargs, options);
    }

    private static double Seconds(JsonElement v) =>
        v.ValueKind == JsonValueKind.Number ? v.GetDouble()
        : v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d
        : throw Invalid();

    // Flower's DATE_FORMAT '%Y-%m-%d %H:%M:%S.%f', read as UTC.
    private static DateTimeOffset FlowerDate(JsonElement v) =>
        v.ValueKind == JsonValueKind.String && DateTimeOffset.TryParseExact(v.GetString(), "yyyy-MM-dd HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var t) ? t : throw Invalid();

    private static FlowerHttpError Invalid() => new(400, "Invalid option");
}
