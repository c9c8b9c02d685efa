using System.Globalization;
using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Rabbit;
using Microsoft.AspNetCore.Http;

namespace ActorMonitor.Host.Http;

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
