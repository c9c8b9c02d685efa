using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace ActorMonitor.Host.Http;

/// <summary>
/// First in the pipeline: a route that throws is one line on the log (the route and the cause)
/// and a JSON error for the client instead of a bare 500; at debug level every request is a line
/// too. The log is standard error: standard output carries data only.
/// </summary>
internal sealed class HttpDiagnostics(TextWriter log, LogLevel level) : IStartupFilter
{
    public static HttpDiagnostics ToStderr() => new(Console.Error, CliLog.Level);

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(HandleAsync);
        next(app);
    };

    private async Task HandleAsync(HttpContext http, RequestDelegate next)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await next(http);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away: nobody to answer, nothing wrong with the node
        }
        catch (Exception ex)
        {
            var cause = $"{ex.GetBaseException().GetType().Name}: {ex.GetBaseException().Message}";
            Write(LogLevel.Error, $"HTTP {http.Request.Method} {Route(http)} failed: {cause}");
            if (http.Response.HasStarted)
            {
                http.Abort(); // part of a body is out: the client must not take it for a whole one
                return;
            }
            http.Response.Clear();
            http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            // The cause stays in the node's log: an exception's text may tell a caller about the node's insides.
            await http.Response.WriteAsJsonAsync(new { error = $"internal error in {Route(http)}; the node's log has the cause" });
        }
        finally
        {
            Write(LogLevel.Debug, string.Create(CultureInfo.InvariantCulture,
                $"HTTP {http.Request.Method} {http.Request.Path}{http.Request.QueryString} {http.Response.StatusCode} in {clock.Elapsed.TotalMilliseconds:F1} ms"));
        }
    }

    /// <summary>The route's template (/api/query/task/{uuid}) when routing found one, else the path.</summary>
    private static string Route(HttpContext http) =>
        http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern } ? "/" + pattern.TrimStart('/') : http.Request.Path.ToString();

    private void Write(LogLevel at, string message)
    {
        if (level == LogLevel.None || at < level) return;
        lock (log) log.WriteLine("actormonitor: " + message);
    }
}
