namespace ActorMonitor.Host.Commands;

/// <summary>actormonitor state: a running node's state, in the schema replay prints.</summary>
public static class StateCommand
{
    public const int UnknownTask = 3;

    /// <summary>A node's endpoint and the credentials it may require (flags, or ACTORMONITOR_HTTP_TOKEN / _BASIC).</summary>
    public sealed record Node(string Url, string? Token = null, string? Basic = null)
    {
        public override string ToString() => Url; // never the credentials
    }

    /// <summary>One task from the node (its entity, restored from the store if passivated); exit 3 when unknown.</summary>
    public static Task<int> TaskAsync(Node node, string uuid, Stream output, CancellationToken ct) =>
        CopyAsync(node, "/api/query/task/" + Uri.EscapeDataString(uuid), TimeSpan.FromMinutes(1), output, ct, onNotFound: () =>
        {
            Console.Error.WriteLine($"actormonitor: unknown task {uuid}");
            return UnknownTask;
        });

    public static Task<int> RunAsync(Node node, double? asOf, Stream output, CancellationToken ct) =>
        CopyAsync(node, "/api/state" + (asOf is { } a ? "?as_of=" + a.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : ""),
            TimeSpan.FromMinutes(5), output, ct);

    /// <summary>Copies the node's answer to standard output; an error or an unreachable node is one line and exit 2.</summary>
    private static async Task<int> CopyAsync(Node node, string path, TimeSpan timeout, Stream output, CancellationToken ct, Func<int>? onNotFound = null)
    {
        var url = node.Url;
        using var client = new HttpClient { Timeout = timeout };
        Cmd.NodeClient.Authorize(client, node.Token, node.Basic);
        try
        {
            using var response = await client.GetAsync(url.TrimEnd('/') + path, HttpCompletionOption.ResponseHeadersRead, ct);
            if (onNotFound is not null && response.StatusCode == System.Net.HttpStatusCode.NotFound) return onNotFound();
            if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
                return CliError.Fail($"node at {url} requires credentials, or refused those given: --token or ACTORMONITOR_HTTP_TOKEN (or --basic USER:PASSWORD)");
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
