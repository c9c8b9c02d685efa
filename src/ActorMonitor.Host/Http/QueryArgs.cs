using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace ActorMonitor.Host.Http;

/// <summary>
/// What the query routes share, ours (<see cref="QueryApi"/>) and Flower's (<see cref="FlowerQueryApi"/>)
/// and the dashboard's worker page: reading parameters, a 400 for a request outside the limits, a
/// 503 when the tasks cannot be read now, JSON written by hand.
/// </summary>
internal static class QueryArgs
{
    /// <summary>The largest page of workers a list gives.</summary>
    public const int MaxWorkerLimit = 10_000;

    /// <summary>A page of a worker list: limit (1 to <see cref="MaxWorkerLimit"/>, <paramref name="defaultLimit"/> if absent) and offset (0 or more).</summary>
    public static (int Limit, int Offset) WorkerPage(IQueryCollection query, int defaultLimit)
    {
        var limit = IntArg(query, "limit") ?? defaultLimit;
        var offset = IntArg(query, "offset") ?? 0;
        if (limit < 1 || limit > MaxWorkerLimit) throw new BadRequest($"limit must be from 1 to {MaxWorkerLimit}, not {limit}");
        if (offset < 0) throw new BadRequest($"offset must be 0 or more, not {offset}");
        return (limit, offset);
    }

    // A handler of the context that returns its result (a lambda of HttpContext alone would be taken
    // for a RequestDelegate, whose result is discarded).
    internal static void Get(WebApplication app, string pattern, Func<HttpContext, Task<IResult>> handler) => app.MapGet(pattern, (Delegate)handler);

    /// <summary>A request outside the limits: answered 400 with its reason.</summary>
    internal sealed class BadRequest(string message) : Exception(message);

    internal static async Task<IResult> Guarded(HttpContext http, Func<Task<IResult>> handle)
    {
        try
        {
            return await handle();
        }
        catch (BadRequest ex)
        {
            return Results.BadRequest(new { error = ex.Message });
        }
        catch (Exception ex) when (ex is InvalidOperationException or AskTimeoutException or TimeoutException && !http.RequestAborted.IsCancellationRequested)
        {
            // fresh=true needs a checkpoint of every node: the store or a node may not answer.
            return Results.Json(new { error = "the tasks cannot be read now: " + ex.GetBaseException().Message }, statusCode: 503);
        }
    }

    /// <summary>Our parameters: given once, taken as sent (an empty value is no filter).</summary>
    internal static string? One(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values)) return null;
        if (values.Count > 1) throw new BadRequest($"{name} given more than once");
        return string.IsNullOrEmpty(values[0]) ? null : values[0];
    }

    /// <summary>Tornado's get_argument: the last value, stripped of whitespace.</summary>
    internal static string? Arg(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out StringValues values) || values.Count == 0) return null;
        var v = values[^1]?.Trim();
        return string.IsNullOrEmpty(v) ? null : v;
    }

    internal static int? Int(IQueryCollection query, string name) =>
        One(query, name) is { } text ? ParseInt(name, text) : null;

    internal static int? IntArg(IQueryCollection query, string name) =>
        Arg(query, name) is { } text ? ParseInt(name, text) : null;

    internal static int ParseInt(string name, string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw new BadRequest($"{name} must be an integer, not '{text}'");

    internal static bool Fresh(IQueryCollection query) => ParseBool(query, "fresh", One(query, "fresh"));

    internal static bool ParseBool(IQueryCollection query, string name, string? text) => text?.ToLowerInvariant() switch
    {
        null => false,
        "1" or "true" or "t" or "yes" or "y" or "on" => true,
        "0" or "false" or "f" or "no" or "n" or "off" => false,
        _ => throw new BadRequest($"{name} must be true or false, not '{text}'"),
    };

    internal static IResult Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Results.Bytes(buffer.ToArray(), "application/json");
    }
}
