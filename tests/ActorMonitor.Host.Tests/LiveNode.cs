using System.Text.Json;
using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Host.Tests;

/// <summary>An `actormonitor run` process and its HTTP endpoint.</summary>
internal sealed class LiveNode : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };

    private readonly string? _ownDirectory;

    private LiveNode(ChildProcess process, string url, string? ownDirectory)
    {
        Process = process;
        Url = url;
        _ownDirectory = ownDirectory;
    }

    public ChildProcess Process { get; }
    public string Url { get; }

    /// <summary>Starts a node; unless <paramref name="extra"/> names a --journal, it gets a SQLite file of its own, deleted with it.</summary>
    public static Task<LiveNode> StartAsync(string brokerUrl, params string[] extra) => StartInAsync(null, brokerUrl, extra);

    /// <summary>Starts a node as <see cref="StartAsync"/> does, inside <paramref name="cgroup"/> (a cgroup directory) when given.</summary>
    public static async Task<LiveNode> StartInAsync(string? cgroup, string brokerUrl, params string[] extra)
    {
        var port = Repo.FreePort();
        string? own = null;
        if (!extra.Contains("--journal"))
        {
            own = Directory.CreateTempSubdirectory("am-node-").FullName;
            extra = [.. extra, "--journal", "sqlite:" + Path.Combine(own, "state.db")];
        }
        // Tests share a broker: a queue of each node's own unless the test shares one on purpose.
        if (!extra.Contains("--node-id")) extra = [.. extra, "--node-id", $"test-{Guid.NewGuid():N}"];
        string[] args = ["run", "--broker", brokerUrl, "--http", $"127.0.0.1:{port}", .. extra];
        var process = cgroup is null ? ChildProcess.Actormonitor("node", args) : ChildProcess.ActormonitorInCgroup("node", cgroup, args);
        var node = new LiveNode(process, $"http://127.0.0.1:{port}", own);
        await node.WaitUntilAsync(async () => (await node.HealthAsync()).Ok, TimeSpan.FromSeconds(60), "the node to be healthy");
        return node;
    }

    public async Task<(bool Ok, string Text)> HealthAsync()
    {
        try
        {
            using var r = await Http.GetAsync(Url + "/healthcheck");
            return (r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException ex)
        {
            return (false, ex.Message);
        }
    }

    public async Task<JsonDocument> StateAsync() => JsonDocument.Parse(await Http.GetStringAsync(Url + "/api/state"));

    public async Task<JsonDocument> StatsAsync() => JsonDocument.Parse(await Http.GetStringAsync(Url + "/api/stats"));

    public async Task<long> MessagesAsync()
    {
        using var stats = await StatsAsync();
        return stats.RootElement.GetProperty("messages").GetInt64();
    }

    /// <summary>Waits until the node received no new message for <paramref name="quiet"/>.</summary>
    public async Task WaitForQuietAsync(TimeSpan quiet, TimeSpan timeout)
    {
        var last = await MessagesAsync();
        var since = DateTime.UtcNow;
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow - since < quiet)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the node never went quiet ({last} messages)");
            await Task.Delay(250);
            var now = await MessagesAsync();
            if (now != last) (last, since) = (now, DateTime.UtcNow);
        }
    }

    public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (Process.HasExited) throw new InvalidOperationException($"the node exited ({Process.ExitCode}): {Process.Stderr}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}; node log:\n{Tail(Process.Stderr)}");
            await Task.Delay(250);
        }
    }

    public static string Tail(string text, int chars = 4000) => text.Length > chars ? text[^chars..] : text;

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        if (_ownDirectory is not null) Directory.Delete(_ownDirectory, recursive: true);
    }
}
