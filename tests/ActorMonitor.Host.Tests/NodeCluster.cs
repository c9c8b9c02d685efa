using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// Monitor node processes on loopback sharing one queue and one PostgreSQL journal, each started
/// under its own name and Akka port (a restarted node comes back under both), and what the
/// end-to-end cluster tests ask of them.
/// </summary>
internal sealed class NodeCluster : IAsyncDisposable
{
    private readonly string _brokerUrl;
    private readonly string _journal;
    private readonly int[] _ports;
    private readonly string _queue = $"cluster-{Guid.NewGuid():N}";
    private readonly ITestOutputHelper _output;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private NodeCluster(string brokerUrl, string journal, int size, ITestOutputHelper output)
    {
        _brokerUrl = brokerUrl;
        _journal = journal;
        _output = output;
        _ports = Enumerable.Range(0, size).Select(_ => Repo.FreePort()).ToArray();
        Nodes = new LiveNode?[size];
    }

    public LiveNode?[] Nodes { get; }

    public LiveNode this[int i] => Nodes[i] ?? throw new InvalidOperationException($"node-{i + 1} is not running");

    public IEnumerable<LiveNode> Running => Nodes.Where(n => n is not null && !n.Process.HasExited)!;

    public int AkkaPort(int i) => _ports[i];

    /// <summary>Starts <paramref name="size"/> nodes together and waits until all are Up.</summary>
    public static async Task<NodeCluster> StartAsync(RabbitBroker broker, PostgresServer postgres, int size, ITestOutputHelper output,
        Func<int, string?>? cgroupOf = null)
    {
        var cluster = new NodeCluster(broker.Url, await postgres.NewJournalAsync(), size, output);
        await Task.WhenAll(Enumerable.Range(0, size).Select(i => cluster.StartAsync(i, cgroupOf?.Invoke(i))));
        await cluster.WaitForMembersAsync(size, "every node up");
        return cluster;
    }

    public async Task StartAsync(int i, string? cgroup = null)
    {
        var seeds = string.Join(",", _ports.Select(p => $"akka.tcp://actormonitor@127.0.0.1:{p}"));
        Nodes[i] = await LiveNode.StartInAsync(cgroup, _brokerUrl,
            "--journal", _journal, "--node-id", _queue, "--node-name", $"node-{i + 1}",
            "--akka-port", _ports[i].ToString(), "--seed-nodes", seeds,
            "--config", "actormonitor.receiver.utcoffset = 0");
    }

    private readonly List<LiveNode> _detached = [];

    /// <summary>Takes a node out of the running set (frozen, cut off): no question goes to it; it is still disposed with the cluster.</summary>
    public LiveNode Detach(int i)
    {
        var node = this[i];
        Nodes[i] = null;
        _detached.Add(node);
        return node;
    }

    public void Log(string what) => _output.WriteLine($"{_clock.Elapsed.TotalSeconds,6:F1} s: {what}");

    /// <summary>Waits until the first running node sees exactly <paramref name="count"/> members, all Up and reachable.</summary>
    public Task WaitForMembersAsync(int count, string what, int timeoutSeconds = 60)
    {
        var node = Running.First();
        return node.WaitUntilAsync(async () => await UpMembersAsync(node) == count, TimeSpan.FromSeconds(timeoutSeconds), what);
    }

    /// <summary>Messages consumed so far by the running nodes' receivers.</summary>
    public async Task<long> MessagesAsync()
    {
        long sum = 0;
        foreach (var n in Running) sum += await n.MessagesAsync();
        return sum;
    }

    /// <summary>Waits until <paramref name="node"/>'s /api/state (sums over the stored rows) counts every message, saying where each node stands if not.</summary>
    public async Task WaitUntilDurableAsync(LiveNode node, int total, TimeSpan timeout)
    {
        try
        {
            await node.WaitUntilAsync(async () => await StateMessagesAsync(node) >= total, timeout, "every message durable");
        }
        catch (TimeoutException)
        {
            foreach (var n in Running)
            {
                try
                {
                    using var stats = await n.StatsAsync();
                    _output.WriteLine($"{n.Url} stats: {stats.RootElement}");
                }
                catch (Exception ex) { _output.WriteLine($"{n.Url} stats: {ex.Message}"); }
                _output.WriteLine($"{n.Url} log:\n{LiveNode.Tail(n.Process.Stderr, 12000)}");
            }
            throw;
        }
    }

    public async Task LogCountersAsync()
    {
        foreach (var n in Running)
        {
            using var stats = await n.StatsAsync();
            var r = stats.RootElement;
            Log($"{n.Url}: {r.GetProperty("messages")} messages, {r.GetProperty("duplicate_messages")} redeliveries recognised, " +
                $"{r.GetProperty("duplicate_events")} events its entities held already, consumed {r.GetProperty("broker").GetProperty("consumed")}");
        }
    }

    /// <summary>
    /// Everything equals Celery's state but what depends on the order in which one task's events
    /// reached its entity (docs/architecture.md, "Several nodes"; <see cref="StateComparison.SeveralReceivers"/>).
    /// </summary>
    public async Task CompareAsync(LiveNode node, string expectedPath, int total)
    {
        using var ours = await node.StateAsync();
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(expectedPath));
        var e = expected.RootElement;
        var (orderDependent, others) = StateComparison.SeveralReceivers(e, ours.RootElement);
        _output.WriteLine($"{orderDependent.Count} differences that depend on the order of events, by field: " +
            string.Join(", ", orderDependent.GroupBy(d => d.Split(':')[0].Split('.').Last()).Select(g => $"{g.Key} {g.Count()}")));
        foreach (var d in others.Take(30)) _output.WriteLine(d);
        Assert.Empty(others);
        // Nothing lost, nothing counted twice.
        Assert.Equal(total, ours.RootElement.GetProperty("messages").GetInt64());
        Assert.Equal(e.GetProperty("messages").GetInt64(), ours.RootElement.GetProperty("messages").GetInt64());
        // tasks_by_time holds the same tasks; their order follows each receiver's arrival order.
        Assert.Equal(
            e.GetProperty("tasks_by_time").EnumerateArray().Select(x => x.GetString()).Order(),
            ours.RootElement.GetProperty("tasks_by_time").EnumerateArray().Select(x => x.GetString()).Order());
    }

    private static async Task<long> StateMessagesAsync(LiveNode node)
    {
        try
        {
            using var state = await node.StateAsync();
            return state.RootElement.GetProperty("messages").GetInt64();
        }
        catch (HttpRequestException)
        {
            return -1; // a checkpoint across the cluster failed (a node is being removed): ask again
        }
    }

    private static async Task<int> UpMembersAsync(LiveNode node)
    {
        using var stats = await node.StatsAsync();
        var members = stats.RootElement.GetProperty("cluster").GetProperty("members").EnumerateArray().ToList();
        return members.All(m => m.GetProperty("status").GetString() == "Up" && m.GetProperty("reachable").GetBoolean()) ? members.Count : -1;
    }

    /// <summary>Writes who wrote what to the store and who fenced whom: the first thing to read when counts disagree.</summary>
    public async Task LogStoreAsync()
    {
        await using var c = new Npgsql.NpgsqlConnection(_journal["postgres:".Length..] + ";Pooling=false");
        await c.OpenAsync();
        foreach (var sql in new[] { "SELECT incarnation, commits, fenced_at, fenced_by FROM am_writers ORDER BY registered",
                     "SELECT node_name, messages, cut FROM am_receivers ORDER BY node_name" })
        {
            await using var cmd = new Npgsql.NpgsqlCommand(sql, c);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
                Log(string.Join(" | ", Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? "null" : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }
    }

    public async ValueTask DisposeAsync()
    {
        // AM_TEST_LOGS=DIR keeps every node's log of the test for a closer look.
        if (Environment.GetEnvironmentVariable("AM_TEST_LOGS") is { Length: > 0 } logs)
        {
            Directory.CreateDirectory(logs);
            foreach (var (n, i) in Nodes.Concat(_detached).Select((n, i) => (n, i)))
                if (n is not null) await File.WriteAllTextAsync(Path.Combine(logs, $"{_queue}-{i}.log"), n.Process.Stderr);
        }
        foreach (var n in Nodes.Concat(_detached))
            if (n is not null) await n.DisposeAsync();
    }
}
