namespace ActorMonitor.Host.Commands;

/// <summary>actormonitor state: a running node's state, in the schema replay prints.</summary>
public static class StateCommand
{
    public const int UnknownTask = 3;

    /// <summary>One task from the node (its entity, restored from the store if passivated); exit 3 when unknown.</summary>
    public static async Task<int> TaskAsync(string url, string uuid, Stream output, CancellationToken ct)
    {
        var uri = url.TrimEnd('/') + "/api/task/info/" + Uri.EscapeDataString(uuid);
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
        try
        {
            using var response = await client.GetAsync(uri, ct);
            if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                Console.Error.WriteLine($"actormonitor: unknown task {uuid}");
                return UnknownTask;
            }
            if (!response.IsSuccessStatusCode)
                return CliError.Fail($"node at {url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            await response.Content.CopyToAsync(output, ct);
            await output.WriteAsync("\n"u8.ToArray(), ct);
            await output.FlushAsync(ct);
            return 0;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            return CliError.Fail($"cannot reach node at {url}: {ex.GetBaseException().Message}");
        }
    }

    public static async Task<int> RunAsync(string url, double? asOf, Stream output, CancellationToken ct)
    {
        var uri = url.TrimEnd('/') + "/api/state" + (asOf is { } a ? "?as_of=" + a.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "");
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        try
        {
            using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode)
                return CliError.Fail($"node at {url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            await response.Content.CopyToAsync(output, ct);
            await output.WriteAsync("\n"u8.ToArray(), ct);
            await output.FlushAsync(ct);
            return 0;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            return CliError.Fail($"cannot reach node at {url}: {ex.GetBaseException().Message}");
        }
    }
}
