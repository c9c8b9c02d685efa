namespace ActorMonitor.Host.Commands;

/// <summary>actormonitor state: a running node's state, in the schema replay prints.</summary>
public static class StateCommand
{
    public const int UnknownTask = 3;

    /// <summary>One task from the node (its entity, restored from the store if passivated); exit 3 when unknown.</summary>
    public static Task<int> TaskAsync(string url, string uuid, Stream output, CancellationToken ct) =>
        CopyAsync(url, "/api/query/task/" + Uri.EscapeDataString(uuid), TimeSpan.FromMinutes(1), output, ct, onNotFound: () =>
        {
            Console.Error.WriteLine($"actormonitor: unknown task {uuid}");
            return UnknownTask;
        });

    public static Task<int> RunAsync(string url, double? asOf, Stream output, CancellationToken ct) =>
        CopyAsync(url, "/api/state" + (asOf is { } a ? "?as_of=" + a.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : ""),
            TimeSpan.FromMinutes(5), output, ct);

    /// <summary>Copies the node's answer to standard output; an error or an unreachable node is one line and exit 2.</summary>
    private static async Task<int> CopyAsync(string url, string path, TimeSpan timeout, Stream output, CancellationToken ct, Func<int>? onNotFound = null)
    {
        using var client = new HttpClient { Timeout = timeout };
        try
        {
            using var response = await client.GetAsync(url.TrimEnd('/') + path, HttpCompletionOption.ResponseHeadersRead, ct);
            if (onNotFound is not null && response.StatusCode == System.Net.HttpStatusCode.NotFound) return onNotFound();
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
