using System.Text.Json;

namespace ActorMonitor.Tests.Shared;

/// <summary>One `actormonitor run` process of the chaos run, its HTTP endpoint and what is asked of it.</summary>
public sealed class ChaosNode
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private ChaosNode(string name, ChildProcess process, string url)
    {
        Name = name;
        Process = process;
        Url = url;
    }

    public string Name { get; }
    public ChildProcess Process { get; }
    public string Url { get; }

    /// <summary>Starts the node (inside <paramref name="cgroup"/> when given) and waits until it answers health 200.</summary>
    public static async Task<ChaosNode> StartAsync(string name, string? cgroup, string brokerUrl, TimeSpan timeout, params string[] extra)
    {
        var port = Repo.FreePort();
        string[] args = ["run", "--broker", brokerUrl, "--http", $"127.0.0.1:{port}", .. extra];
        var process = cgroup is null ? ChildProcess.Actormonitor(name, args) : ChildProcess.ActormonitorInCgroup(name, cgroup, args);
        var node = new ChaosNode(name, process, $"http://127.0.0.1:{port}");
        var deadline = DateTime.UtcNow + timeout;
        while (!(await node.HealthAsync()).Ok)
        {
            if (process.HasExited) throw new InvalidOperationException($"{name} exited ({process.ExitCode}) while starting: {Tail(process.Stderr)}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{name} not healthy within {timeout}: {Tail(process.Stderr)}");
            await Task.Delay(250);
        }
        return node;
    }

    public async Task<(bool Ok, string Text)> HealthAsync()
    {
        try
        {
            using var r = await Http.GetAsync(Url + "/healthcheck");
            return (r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (false, ex.Message);
        }
    }

    public async Task<JsonDocument> StatsAsync() => JsonDocument.Parse(await Http.GetStringAsync(Url + "/api/stats"));

    public async Task<JsonDocument> StateAsync()
    {
        using var r = await Http.GetAsync(Url + "/api/state");
        var body = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new HttpRequestException($"{Name} /api/state: {(int)r.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }

    /// <summary>Members Up and reachable as this node sees them; -1 while any is not.</summary>
    public async Task<int> UpMembersAsync()
    {
        try
        {
            using var stats = await StatsAsync();
            var members = stats.RootElement.GetProperty("cluster").GetProperty("members").EnumerateArray().ToList();
            return members.All(m => m.GetProperty("status").GetString() == "Up" && m.GetProperty("reachable").GetBoolean()) ? members.Count : -1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return -1;
        }
    }

    /// <summary>Resident set size of the process, from /proc (0 once it exited).</summary>
    public long RssBytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{Process.Pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:"));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static string Tail(string text, int chars = 4000) => text.Length > chars ? text[^chars..] : text;
}
