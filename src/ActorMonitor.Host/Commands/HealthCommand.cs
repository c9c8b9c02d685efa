using System.CommandLine;

namespace ActorMonitor.Host.Commands;

/// <summary>
/// actormonitor health: a running node's GET /healthcheck as an exit code, for container health
/// checks (the runtime image has no curl). 0 when the node answers 200 (its answer on standard
/// output), 1 when it answers anything else (its answer on standard error), 2 when it cannot be reached.
/// </summary>
public static class HealthCommand
{
    public const int Unhealthy = 1;

    /// <summary>Less than a container health check's usual timeout, so a slow node still gets its line.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Command Build()
    {
        var url = new Option<string>("--url") { Description = "the node's HTTP endpoint", DefaultValueFactory = _ => "http://127.0.0.1:5555" };
        var cmd = new Command("health", "Ask a running node's /healthcheck: exit 0 when healthy, 1 when not, 2 when unreachable.") { url };
        cmd.SetAction(async (parse, ct) => await RunAsync(parse.GetValue(url)!, Program.DataOut, ct));
        return cmd;
    }

    public static async Task<int> RunAsync(string url, Stream output, CancellationToken ct)
    {
        using var client = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await client.GetAsync(url.TrimEnd('/') + "/healthcheck", ct);
            var body = (await response.Content.ReadAsStringAsync(ct)).TrimEnd();
            if (response.StatusCode != System.Net.HttpStatusCode.OK)
            {
                Console.Error.WriteLine($"actormonitor: node at {url} is unhealthy ({(int)response.StatusCode}): {body}");
                return Unhealthy;
            }
            await output.WriteAsync(System.Text.Encoding.UTF8.GetBytes(body + "\n"), ct);
            await output.FlushAsync(ct);
            return 0;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return CliError.Fail($"node at {url} did not answer within {Timeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            return CliError.Fail($"cannot reach node at {url}: {ex.GetBaseException().Message}");
        }
    }
}
