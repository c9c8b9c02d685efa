using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorMonitor.Rabbit;
using RabbitMQ.Client;

namespace ActorMonitor.Tests.Shared;

/// <summary>How long the chaos run streams, how often each fault comes, and how long each lasts.</summary>
public sealed record ChaosProfile(
    string Name, TimeSpan MinimumStream, int Rounds, TimeSpan KillDown, TimeSpan BrokerDown, TimeSpan DatabaseDown,
    TimeSpan Partition, TimeSpan DiskFull, TimeSpan Settle, TimeSpan RecoveryTimeout,
    int SimulatedWorkers, double SimulatedTasksPerSecond, double CeleryTasksPerSecond, int MaxTasksInMemory)
{
    /// <summary>The slow test tier's: each fault once, about four minutes in all.</summary>
    public static ChaosProfile Short { get; } = new("short", TimeSpan.FromMinutes(3), 1,
        TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(12),
        TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120), 6, 15, 3, 1500);

    /// <summary>bench/run chaos: at least <paramref name="minutes"/> of streaming, each fault twice or more.</summary>
    public static ChaosProfile Long(double minutes) => new("long", TimeSpan.FromMinutes(minutes), 2,
        TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(20),
        TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(180), 8, 20, 4, 2000);
}

/// <summary>Where the run's broker and database are (scripts/rabbitmq and scripts/postgres on these ports), and a scratch directory.</summary>
public sealed record ChaosEnvironment(int BrokerPort, int PostgresPort, string PostgresConnection, string WorkDirectory)
{
    public string BrokerUrl => $"amqp://guest:guest@127.0.0.1:{BrokerPort}//";

    /// <summary>
    /// A free port below the kernel's ephemeral range (and its +20000 for RabbitMQ's distribution
    /// port too). A service the run stops must listen outside that range: while it is down, its
    /// clients' reconnects on loopback can be given its port as their own local port and connect
    /// to themselves, and it then cannot listen again (seen: RabbitMQ's restart failed, eaddrinuse).
    /// </summary>
    public static int ServicePort()
    {
        var low = 32768;
        try { low = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0]); } catch (IOException) { }
        var rnd = new Random();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = rnd.Next(10000, Math.Min(low, 32768) - 20000);
            if (IsFree(port) && IsFree(port + 20000)) return port;
        }
        throw new InvalidOperationException("no free port below the ephemeral range");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            l.Start();
            l.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}

/// <summary>One fault injected: how long it was held, how long until the monitor was whole again, and the counters over that span.</summary>
public sealed record ChaosFault(int Round, string Fault, string Target, double HeldSeconds, double? RecoverySeconds,
    long Deliveries, long Durable, long DuplicateMessages, long DuplicateEvents, string Note);

/// <summary>What a chaos run measured, and every way it fell short (empty: it passed).</summary>
public sealed class ChaosReport
{
    public required ChaosProfile Profile { get; init; }
    public List<ChaosFault> Faults { get; } = [];
    public List<string> Failures { get; } = [];
    public List<string> Notes { get; } = [];
    public TimeSpan Streamed { get; set; }
    public long Captured { get; set; }
    public long ClusterDurable { get; set; }
    public long SqliteDurable { get; set; }
    public string SimulatorSummary { get; set; } = "";
    public string CelerySummary { get; set; } = "";
    /// <summary>Peak tasks held in memory per node outside its store's outages, and during them (dirty rows cannot passivate before they are saved).</summary>
    public Dictionary<string, long> PeakLiveTasks { get; } = [];
    public Dictionary<string, long> PeakLiveTasksDuringStoreFault { get; } = [];
    public Dictionary<string, long> FinalLiveTasks { get; } = [];
    public Dictionary<string, long> PeakRssBytes { get; } = [];
    public long TotalDeliveries { get; set; }
    public long TotalDuplicateMessages { get; set; }
    public long TotalDuplicateEvents { get; set; }
    public int OrderDependentDifferences { get; set; }
    /// <summary>Per node read, the fields that differ from Celery's beyond the order-dependent ones.</summary>
    public List<string> StateDifferences { get; } = [];

    private static string Show(Dictionary<string, long> values) =>
        values.Count == 0 ? "none" : string.Join(", ", values.OrderBy(p => p.Key).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value:N0}")));

    public string Table()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| # | fault | target | held | recovery | deliveries | made durable | redeliveries recognised | duplicate events skipped | note |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var f in Faults)
            sb.AppendLine(string.Create(inv, $"| {f.Round} | {f.Fault} | {f.Target} | {f.HeldSeconds:F1} s | {(f.RecoverySeconds is { } r ? $"{r:F1} s" : "not recovered")} | {f.Deliveries:N0} | {f.Durable:N0} | {f.DuplicateMessages:N0} | {f.DuplicateEvents:N0} | {f.Note} |"));
        sb.AppendLine();
        sb.AppendLine(string.Create(inv, $"Streamed {Streamed.TotalMinutes:F1} min; the capture holds {Captured:N0} messages; durable: {ClusterDurable:N0} in the three-node cluster (PostgreSQL), {SqliteDurable:N0} in the SQLite node."));
        sb.AppendLine(string.Create(inv, $"Deliveries to the four nodes over the run: {TotalDeliveries:N0} for 2 × {Captured:N0} messages ({TotalDeliveries - 2 * Captured:N0} beyond one per message: redeliveries); redeliveries of messages already counted, recognised and skipped: {TotalDuplicateMessages:N0}; duplicate events skipped by entities: {TotalDuplicateEvents:N0}."));
        sb.AppendLine($"Fleet: simulator \"{SimulatorSummary}\"; Celery client \"{CelerySummary}\".");
        sb.AppendLine(string.Create(inv, $"Tasks held in memory per node (max-tasks-in-memory {Profile.MaxTasksInMemory:N0}), peak outside store outages: {Show(PeakLiveTasks)}; peak during its store's outage: {Show(PeakLiveTasksDuringStoreFault)}; at the end: {Show(FinalLiveTasks)}."));
        sb.AppendLine($"Peak RSS per node: {string.Join(", ", PeakRssBytes.OrderBy(p => p.Key).Select(p => string.Create(inv, $"{p.Key} {p.Value / 1048576.0:F0} MB")))}.");
        sb.AppendLine($"State against Celery's reference on the capture: {(StateDifferences.Count == 0 ? "every field equal on both nodes" : string.Join("; ", StateDifferences))} (order-dependent differences left aside: {OrderDependentDifferences}).");
        foreach (var n in Notes) sb.AppendLine(n);
        sb.AppendLine(Failures.Count == 0 ? "Result: PASS" : "Result: FAIL\n" + string.Join("\n", Failures.Select(f => "- " + f)));
        return sb.ToString();
    }
}

/// <summary>
/// The chaos run: a fleet (our simulator and a real Celery worker with a client) streams into
/// three nodes on PostgreSQL sharing one queue, and into a fourth on SQLite with a queue of its
/// own whose journal lives on a small tmpfs, while faults come in turn: a node killed -9 and
/// restarted; RabbitMQ stopped and started; PostgreSQL stopped and started; one node cut off from
/// the others (iptables) and healed; the SQLite node's disk filled and freed.
/// The ground truth is an independent capture of the same exchange (a durable queue of its own,
/// its consumer reconnecting), and Celery's State on it (tools/oracle/celery_reference.py): what
/// the broker never accepted was not sent, and is in neither. RabbitMQ's events are transient
/// (Celery's choice), so the broker is stopped with its queues drained (publishers paused for
/// that moment, then publishing into the outage, buffering and retrying as Celery's dispatcher
/// does); otherwise a restart would drop what the queues held, for the capture and the nodes
/// unequally.
/// </summary>
public sealed class ChaosRun(ChaosEnvironment env, ChaosProfile profile, Action<string> log) : IAsyncDisposable
{
    private const string Python = "/usr/bin/python3";
    private static readonly string E2eDir = Repo.Path("tests", "e2e");
    private static readonly TimeSpan NodeStart = TimeSpan.FromSeconds(90);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _id = Guid.NewGuid().ToString("N")[..10];
    private readonly ChaosNode?[] _cluster = new ChaosNode?[3];
    private readonly List<ChaosNode> _everyNode = [];
    private readonly int[] _akkaPorts = [Repo.FreePort(), Repo.FreePort(), Repo.FreePort()];
    private readonly AkkaPartition _partition = new();
    private readonly Dictionary<int, (string Node, long Consumed, long DupMessages, long DupEvents)> _counters = [];
    private readonly ChaosReport _report = new() { Profile = profile };
    private ChaosNode? _sqlite;
    private ChildProcess? _capture, _simulator, _celeryWorker, _celeryClient;
    private string _journal = "", _schema = "", _mount = "", _sqlitePath = "", _capturePath = "", _stopFile = "";
    private bool _mounted;
    private readonly HashSet<string> _storeFault = []; // nodes whose store is down or full (until recovered)
    private long _capturedBytes, _capturedLines;
    private CancellationTokenSource? _sampling;
    private Task? _sampler;

    private const int PartitionedNode = 2; // node-3 runs in the partition's cgroup
    private const int KilledNode = 1;      // node-2

    private string ClusterQueue => $"celeryev.chaos-{_id}";
    private string SqliteQueue => $"celeryev.chaos-{_id}-sqlite";
    private string CaptureQueue => $"celeryev.chaos-{_id}-capture";

    private void Log(string what) => log($"{_clock.Elapsed.TotalSeconds,7:F1} s: {what}");

    public async Task<ChaosReport> RunAsync()
    {
        Directory.CreateDirectory(env.WorkDirectory);
        _capturePath = Path.Combine(env.WorkDirectory, "capture.jsonl");
        _stopFile = Path.Combine(env.WorkDirectory, "capture.stop");
        File.Delete(_stopFile);
        var celeryEnv = new Dictionary<string, string> { ["E2E_BROKER"] = env.BrokerUrl, ["PYTHONPATH"] = E2eDir };

        // Every queue is bound before the fleet sends anything: the capture's, the cluster's, the SQLite node's.
        _capture = ChildProcess.Start("capture", Python, [Path.Combine(E2eDir, "chaos_capture.py"), env.BrokerUrl, CaptureQueue, _capturePath, _stopFile], E2eDir);
        await _capture.WaitForStdoutLineAsync(l => l == "ready", TimeSpan.FromSeconds(60));

        _schema = $"chaos_{_id}";
        await ExecuteAsync($"CREATE SCHEMA {_schema}");
        _journal = $"postgres:{env.PostgresConnection};Search Path={_schema}";
        _mount = Path.Combine(env.WorkDirectory, "disk");
        Directory.CreateDirectory(_mount);
        Run("mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", _mount);
        _mounted = true;
        _sqlitePath = Path.Combine(_mount, "state.db");

        await Task.WhenAll(Enumerable.Range(0, 3).Select(StartClusterNodeAsync));
        await WaitForMembersAsync(3, TimeSpan.FromSeconds(90));
        _sqlite = await ChaosNode.StartAsync("sqlite-node", null, env.BrokerUrl, NodeStart, NodeArgs("sqlite-node", $"sqlite:{_sqlitePath}", $"chaos-{_id}-sqlite", Repo.FreePort(), null));
        _everyNode.Add(_sqlite);
        Log("three nodes on PostgreSQL Up, the SQLite node healthy");

        _sampling = new CancellationTokenSource();
        _sampler = SampleAsync(_sampling.Token);

        _simulator = ChildProcess.Actormonitor("simulate", "simulate", "--broker", env.BrokerUrl, "--workers", profile.SimulatedWorkers.ToString(),
            "--rate", profile.SimulatedTasksPerSecond.ToString(CultureInfo.InvariantCulture), "--failure-rate", "0.1", "--log-level", "info");
        _celeryWorker = ChildProcess.Start("celery-worker", Python,
            ["-m", "celery", "-A", "e2e_tasks", "worker", "-E", "-n", "chaos@e2e", "-P", "threads", "-c", "2", "--without-mingle", "--without-gossip", "-l", "warning"],
            E2eDir, celeryEnv);
        _celeryClient = ChildProcess.Start("celery-client", Python, [Path.Combine(E2eDir, "chaos_client.py"), profile.CeleryTasksPerSecond.ToString(CultureInfo.InvariantCulture)], E2eDir, celeryEnv);
        var streaming = Stopwatch.StartNew();
        Log($"fleet started: {profile.SimulatedWorkers} simulated workers at {profile.SimulatedTasksPerSecond} tasks/s, one Celery worker fed {profile.CeleryTasksPerSecond} tasks/s");
        await Task.Delay(TimeSpan.FromSeconds(15));
        if (CapturedNow() == 0) throw new InvalidOperationException("nothing captured after 15 s of streaming: " + _simulator.Stderr + _celeryWorker.Stderr);

        for (var round = 1; round <= profile.Rounds; round++)
        {
            await FaultAsync(round, "kill -9 and restart", $"node-{KilledNode + 1}", KillAsync);
            await FaultAsync(round, "RabbitMQ stopped and started", "broker", BrokerAsync);
            await FaultAsync(round, "PostgreSQL stopped and started", "database", DatabaseAsync, ["node-1", "node-2", "node-3"]);
            await FaultAsync(round, "cut off from the others and healed", $"node-{PartitionedNode + 1}", PartitionAsync);
            await FaultAsync(round, "disk filled and freed", "sqlite-node", DiskAsync, ["sqlite-node"]);
        }
        if (streaming.Elapsed < profile.MinimumStream)
        {
            Log($"streaming on to {profile.MinimumStream.TotalMinutes:F0} min");
            await Task.Delay(profile.MinimumStream - streaming.Elapsed);
        }
        await StopFleetAsync();
        _report.Streamed = streaming.Elapsed;
        await FinalChecksAsync();
        return _report;
    }

    // ---- faults ----

    private async Task FaultAsync(int round, string fault, string target, Func<Task<(double Held, string Note, long EndedAt)>> inject, string[]? storeOf = null)
    {
        lock (_counters) _storeFault.UnionWith(storeOf ?? []);
        var before = Totals();
        var durableBefore = await ClusterDurableAsync() + SqliteDurable();
        Log($"round {round}: {fault} ({target})");
        // The fault ends when the node is restarted, the service started, the partition healed or
        // the disk freed; whatever follows (a node starting and joining) counts as recovery.
        var (held, note, endedAt) = await inject();
        var sentByEnd = CapturedNow();
        double? recovery = null;
        var restarted = new List<string>();
        try
        {
            await RecoveredAsync(sentByEnd, profile.RecoveryTimeout, restarted);
            recovery = Stopwatch.GetElapsedTime(endedAt).TotalSeconds;
            Log($"recovered {recovery:F1} s after the fault ended ({sentByEnd} messages captured by then, all durable)");
        }
        catch (TimeoutException ex)
        {
            _report.Failures.Add($"round {round}, {fault}: not recovered within {profile.RecoveryTimeout.TotalSeconds:F0} s ({ex.Message})");
            Log(ex.Message);
            await DumpAsync();
        }
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // one more sample of the counters
        lock (_counters) _storeFault.Clear();
        var after = Totals();
        var durableAfter = await ClusterDurableAsync() + SqliteDurable();
        _report.Faults.Add(new ChaosFault(round, fault, target, held, recovery, after.Consumed - before.Consumed, durableAfter - durableBefore,
            after.DupMessages - before.DupMessages, after.DupEvents - before.DupEvents,
            restarted.Count == 0 ? note : $"{note}; downed meanwhile and started again: {string.Join(", ", restarted)}"));
        await Task.Delay(profile.Settle);
    }

    private async Task<(double, string, long)> KillAsync()
    {
        var victim = _cluster[KilledNode]!;
        await victim.Process.KillAsync();
        _cluster[KilledNode] = null;
        var held = Stopwatch.StartNew();
        Log($"{victim.Name} killed (-9)");
        await Task.Delay(profile.KillDown);
        var endedAt = Stopwatch.GetTimestamp();
        await StartClusterNodeAsync(KilledNode);
        Log($"{victim.Name} restarted (healthy {Stopwatch.GetElapsedTime(endedAt).TotalSeconds:F1} s after its start)");
        return (held.Elapsed.TotalSeconds, "restarted under the same name and port", endedAt);
    }

    private async Task<(double, string, long)> BrokerAsync()
    {
        // Paused only while the queues drain: transient events left in a queue do not survive a
        // restart of RabbitMQ, in Celery's design too.
        var publishers = new[] { _simulator!, _celeryWorker!, _celeryClient! };
        foreach (var p in publishers) p.Signal(19);
        var paused = Stopwatch.StartNew();
        var pausedFor = TimeSpan.Zero;
        try
        {
            await WaitUntilAsync(async () => await ReadyAsync(ClusterQueue) == 0 && await ReadyAsync(SqliteQueue) == 0 && await ReadyAsync(CaptureQueue) == 0,
                TimeSpan.FromSeconds(60), "the queues to drain before the broker stops");
            await ProjectScript.RunAsync("rabbitmq", "stop", env.BrokerPort);
        }
        finally
        {
            foreach (var p in publishers) p.Signal(18);
            pausedFor = paused.Elapsed;
        }
        var held = Stopwatch.StartNew();
        Log($"RabbitMQ stopped (publishers paused {pausedFor.TotalSeconds:F1} s for the queues to drain and the broker to stop, now publishing into the outage)");
        await Task.Delay(profile.BrokerDown);
        await ProjectScript.RunAsync("rabbitmq", "start", env.BrokerPort);
        Log("RabbitMQ started");
        return (held.Elapsed.TotalSeconds, $"stopped with its queues drained (publishers paused {pausedFor.TotalSeconds:F1} s for that)", Stopwatch.GetTimestamp());
    }

    private async Task<(double, string, long)> DatabaseAsync()
    {
        await ProjectScript.RunAsync("postgres", "stop", env.PostgresPort);
        var held = Stopwatch.StartNew();
        Log("PostgreSQL stopped");
        await Task.Delay(profile.DatabaseDown);
        var failing = await Task.WhenAll(RunningCluster().Select(async n => (await n.HealthAsync()).Ok ? 0 : 1));
        await ProjectScript.RunAsync("postgres", "start", env.PostgresPort);
        Log("PostgreSQL started");
        return (held.Elapsed.TotalSeconds, $"{failing.Sum()} of {failing.Length} nodes said unhealthy during it", Stopwatch.GetTimestamp());
    }

    private async Task<(double, string, long)> PartitionAsync()
    {
        var cut = _cluster[PartitionedNode]!;
        _cluster[PartitionedNode] = null; // asked nothing while cut off
        _partition.Isolate(_akkaPorts[PartitionedNode], [_akkaPorts[0], _akkaPorts[1]]);
        var held = Stopwatch.StartNew();
        Log($"{cut.Name} cut off");
        var note = "";
        try
        {
            await WaitForMembersAsync(2, TimeSpan.FromSeconds(60));
            note = $"removed by the others after {held.Elapsed.TotalSeconds:F0} s";
            Log($"{cut.Name} {note}");
        }
        catch (TimeoutException)
        {
            _report.Failures.Add($"{cut.Name} was not removed by the others within 60 s of the partition");
        }
        if (held.Elapsed < profile.Partition) await Task.Delay(profile.Partition - held.Elapsed);
        _partition.Heal();
        var endedAt = Stopwatch.GetTimestamp();
        var heldFor = held.Elapsed.TotalSeconds;
        Log("partition healed");
        try
        {
            await cut.Process.TerminateAfterExitAsync(TimeSpan.FromSeconds(60));
            if (!cut.Process.Stderr.Contains("stops consuming now"))
                _report.Failures.Add($"{cut.Name} exited after the partition without saying it stops consuming");
            note += "; left by itself once healed, restarted";
        }
        catch (OperationCanceledException)
        {
            _report.Failures.Add($"{cut.Name} did not leave by itself within 60 s of the heal");
            await cut.Process.KillAsync();
        }
        await StartClusterNodeAsync(PartitionedNode);
        Log($"{cut.Name} restarted");
        return (heldFor, note, endedAt);
    }

    private async Task<(double, string, long)> DiskAsync()
    {
        var filler = Path.Combine(_mount, "filler");
        var chunk = new byte[1 << 20];
        long written = 0;
        try
        {
            await using var f = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            while (true)
            {
                f.Write(chunk);
                f.Flush();
                written += chunk.Length;
            }
        }
        catch (IOException)
        {
            // ENOSPC: the disk is full.
        }
        var held = Stopwatch.StartNew();
        Log($"the SQLite node's disk full ({written / 1048576} MB of filler)");
        var sawFailing = false;
        while (held.Elapsed < profile.DiskFull)
        {
            if (!(await _sqlite!.HealthAsync()).Ok) sawFailing = true;
            await Task.Delay(500);
        }
        File.Delete(filler);
        Log("the SQLite node's disk freed");
        // A full disk must be told (the journal failing), not ridden over with acks.
        if (!sawFailing) _report.Failures.Add("the SQLite node answered health 200 all the time its disk was full");
        return (held.Elapsed.TotalSeconds, sawFailing ? "health 503 while full" : "health stayed 200 while full", Stopwatch.GetTimestamp());
    }

    // ---- recovery and counters ----

    /// <summary>
    /// Whole again: every node healthy, three members Up, and every message captured by the
    /// fault's end durable in both stores. A node that exited meanwhile (the cluster downed it, as
    /// a loaded machine's failure detector sometimes does while another joins) is started again, as
    /// its supervisor would, and said in the fault's note.
    /// </summary>
    private Task RecoveredAsync(long sentByEnd, TimeSpan timeout, List<string> restarted) =>
        WaitUntilAsync(() => WholeAsync(sentByEnd, restarted), timeout, $"every node healthy and {sentByEnd} messages durable in both stores");

    private async Task<bool> WholeAsync(long sentByEnd, List<string> restarted)
    {
        for (var i = 0; i < _cluster.Length; i++)
            if (_cluster[i] is { } gone && gone.Process.HasExited)
            {
                Log($"{gone.Name} exited ({(gone.Process.Stderr.Contains("stops consuming now") ? "downed by the cluster" : $"exit {gone.Process.ExitCode}")}); starting it again");
                restarted.Add(gone.Name);
                _cluster[i] = null;
                await StartClusterNodeAsync(i);
            }
        foreach (var n in RunningCluster().Append(_sqlite!))
            if (!(await n.HealthAsync()).Ok) return false;
        if (await RunningCluster().First().UpMembersAsync() != 3) return false;
        return await ClusterDurableAsync() >= sentByEnd && SqliteDurable() >= sentByEnd;
    }

    /// <summary>
    /// The end: whole again (as <see cref="RecoveredAsync"/>) with every message durable, or, when
    /// some empty lists were not counted (see the final checks), every node settled: nothing in
    /// flight or awaiting a checkpoint, the queues empty and the durable counts unchanged for 15 s.
    /// </summary>
    private async Task SettledAsync(long captured, long emptyLists, TimeSpan timeout, List<string> restarted)
    {
        var last = (Cluster: -1L, Sqlite: -1L);
        var unchangedSince = Stopwatch.StartNew();
        await WaitUntilAsync(async () =>
        {
            if (!await WholeAsync(captured - emptyLists, restarted)) return false;
            var now = (Cluster: await ClusterDurableAsync(), Sqlite: SqliteDurable());
            if (now.Cluster >= captured && now.Sqlite >= captured) return true;
            if (now != last) (last, unchangedSince) = (now, Stopwatch.StartNew());
            if (unchangedSince.Elapsed < TimeSpan.FromSeconds(15)) return false;
            if (await ReadyAsync(ClusterQueue) != 0 || await ReadyAsync(SqliteQueue) != 0) return false;
            foreach (var n in RunningCluster().Append(_sqlite!))
            {
                using var stats = await n.StatsAsync();
                var r = stats.RootElement;
                if (r.GetProperty("in_flight").GetInt64() != 0 || r.GetProperty("awaiting_checkpoint").GetInt64() != 0) return false;
            }
            return true;
        }, timeout, $"every node healthy and {captured} messages durable in both stores (or, short of some of the {emptyLists} empty lists, every node settled)");
    }

    /// <summary>Captured bodies that are an empty list of events.</summary>
    private long EmptyListsCaptured() =>
        File.ReadLines(_capturePath).Count(line => JsonDocument.Parse(line).RootElement.GetProperty("body").GetString()?.Trim() == "[]");

    private async Task SampleAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            foreach (var n in _everyNode.ToList().Where(n => !n.Process.HasExited))
            {
                try
                {
                    using var stats = await n.StatsAsync();
                    var r = stats.RootElement;
                    var consumed = r.GetProperty("broker").ValueKind == JsonValueKind.Object ? r.GetProperty("broker").GetProperty("consumed").GetInt64() : 0;
                    var live = r.GetProperty("store").GetProperty("live_tasks").GetInt64();
                    var rss = n.RssBytes();
                    lock (_counters)
                    {
                        _counters[n.Process.Pid] = (n.Name, consumed, r.GetProperty("duplicate_messages").GetInt64(), r.GetProperty("duplicate_events").GetInt64());
                        var peaks = _storeFault.Contains(n.Name) ? _report.PeakLiveTasksDuringStoreFault : _report.PeakLiveTasks;
                        peaks[n.Name] = Math.Max(peaks.GetValueOrDefault(n.Name), live);
                        _report.FinalLiveTasks[n.Name] = live;
                        _report.PeakRssBytes[n.Name] = Math.Max(_report.PeakRssBytes.GetValueOrDefault(n.Name), rss);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    // a node being killed, cut off or restarted: its last sample stands
                }
            }
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>Sums over every node process the run started (a killed one keeps its last sample).</summary>
    private (long Consumed, long DupMessages, long DupEvents) Totals()
    {
        lock (_counters)
            return (_counters.Values.Sum(c => c.Consumed), _counters.Values.Sum(c => c.DupMessages), _counters.Values.Sum(c => c.DupEvents));
    }

    private async Task<long> ClusterDurableAsync()
    {
        try
        {
            await using var c = new Npgsql.NpgsqlConnection(env.PostgresConnection + ";Pooling=false;Timeout=3");
            await c.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand($"SELECT COALESCE(SUM(messages), 0) FROM {_schema}.am_receivers", c);
            return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
        {
            return -1; // the database is down
        }
    }

    private long SqliteDurable()
    {
        try
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_sqlitePath};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COALESCE(SUM(messages), 0) FROM am_receivers";
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return -1;
        }
    }

    private long CapturedNow()
    {
        // Lines the capture wrote so far (it flushes each one).
        using var f = new FileStream(_capturePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Seek(_capturedBytes, SeekOrigin.Begin);
        var buffer = new byte[1 << 16];
        int read;
        while ((read = f.Read(buffer)) > 0)
        {
            var end = read;
            _capturedLines += buffer.AsSpan(0, end).Count((byte)'\n');
            _capturedBytes += end;
        }
        return _capturedLines;
    }

    private async Task<long> ReadyAsync(string queue)
    {
        var factory = BrokerAddress.Parse(env.BrokerUrl).CreateFactory("actormonitor chaos run");
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    // ---- the end ----

    private async Task StopFleetAsync()
    {
        _celeryClient!.Signal(15);
        _report.CelerySummary = await ExitedAsync(_celeryClient, "Celery client") ? _celeryClient.Stdout.Trim() : "did not exit";
        // SIGTERM, not SIGINT: a job started in the background of a shell inherits SIGINT ignored.
        _simulator!.Signal(15); // the simulator flushes and sends worker-offline
        _report.SimulatorSummary = await ExitedAsync(_simulator, "simulator")
            ? (_simulator.Stdout + "\n" + _simulator.Stderr).Split('\n').LastOrDefault(l => l.Contains("events sent"))?.Trim() ?? $"exit {_simulator.ExitCode}, no summary" : "did not exit";
        _celeryWorker!.Signal(15); // warm shutdown: worker-offline
        await ExitedAsync(_celeryWorker, "Celery worker");
        Log("fleet stopped");
        File.WriteAllText(_stopFile, "");
        if (!await ExitedAsync(_capture!, "capture")) throw new InvalidOperationException("the capture did not finish");
        Log(_capture!.Stderr.Split('\n').LastOrDefault(l => l.StartsWith("captured")) ?? "");
    }

    private async Task<bool> ExitedAsync(ChildProcess p, string what)
    {
        try
        {
            await p.TerminateAfterExitAsync(TimeSpan.FromSeconds(90));
            return true;
        }
        catch (OperationCanceledException)
        {
            _report.Failures.Add($"the {what} did not exit within 90 s");
            return false;
        }
    }

    private async Task FinalChecksAsync()
    {
        _report.Captured = CapturedNow();
        var captured = _report.Captured;
        var emptyLists = EmptyListsCaptured();
        try
        {
            var restarted = new List<string>();
            await SettledAsync(captured, emptyLists, TimeSpan.FromSeconds(180), restarted);
            if (restarted.Count > 0) _report.Notes.Add($"After the fleet stopped, downed and started again: {string.Join(", ", restarted)}.");
        }
        catch (TimeoutException ex)
        {
            _report.Failures.Add(ex.Message);
            await DumpAsync();
        }
        await Task.Delay(TimeSpan.FromSeconds(2)); // a last sample of the counters
        _sampling!.Cancel();
        await _sampler!;
        var totals = Totals();
        (_report.TotalDeliveries, _report.TotalDuplicateMessages, _report.TotalDuplicateEvents) = totals;
        _report.ClusterDurable = await ClusterDurableAsync();
        _report.SqliteDurable = SqliteDurable();
        // Bodies without events (Celery's workers flush an empty `[]` task.multi) are identical byte
        // for byte: a redelivered one after a node loss is taken for one counted before (docs/
        // architecture.md, "Counted once"). The cluster may count fewer of them, never more, and
        // never fewer messages that carry events: those the state comparison below checks.
        var clusterShort = captured - _report.ClusterDurable;
        if (clusterShort > 0 && clusterShort <= emptyLists)
            _report.Notes.Add($"The cluster counted {clusterShort} of the capture's {emptyLists} empty-list messages less: a redelivered `[]` cannot be told from one counted before.");
        else if (_report.ClusterDurable != captured) _report.Failures.Add($"the cluster made {_report.ClusterDurable} messages durable, the fleet sent {captured}");
        if (_report.SqliteDurable != captured) _report.Failures.Add($"the SQLite node made {_report.SqliteDurable} messages durable, the fleet sent {captured}");

        var expected = Path.Combine(env.WorkDirectory, "expected.json");
        await using (var reference = ChildProcess.Start("celery-reference", Python, [Repo.Path("tools", "oracle", "celery_reference.py"), _capturePath]))
        {
            if (await reference.TerminateAfterExitAsync(TimeSpan.FromMinutes(5)) != 0) throw new InvalidOperationException("celery_reference.py failed: " + reference.Stderr);
            await File.WriteAllTextAsync(expected, reference.Stdout);
        }
        using var e = JsonDocument.Parse(await File.ReadAllBytesAsync(expected));
        Log($"Celery's reference: {e.RootElement.GetProperty("messages")} messages, {e.RootElement.GetProperty("event_count")} events, {e.RootElement.GetProperty("tasks").EnumerateObject().Count()} tasks");
        foreach (var node in new[] { RunningCluster().First(), _sqlite! })
        {
            using var ours = await node.StateAsync();
            var (orderDependent, others) = StateComparison.SeveralReceivers(e.RootElement, ours.RootElement);
            _report.OrderDependentDifferences += orderDependent.Count;
            Log($"{node.Name}: {others.Count} differences from Celery's state, {orderDependent.Count} order-dependent ones left aside");
            foreach (var d in others.Take(20)) Log("  " + d);
            if (others.Count > 0)
            {
                _report.Failures.Add($"state of {node.Name}: {others.Count} differences from Celery's, first: {others[0]}");
                _report.StateDifferences.Add($"{node.Name} {others.Count} field(s) differ");
            }
            var messages = ours.RootElement.GetProperty("messages").GetInt64();
            var tolerated = node == _sqlite ? 0 : emptyLists; // one receiver recognises its own redeliveries exactly
            if (messages > captured || messages < captured - tolerated)
                _report.Failures.Add($"state of {node.Name}: {messages} messages, the capture holds {captured}");
            var eIds = e.RootElement.GetProperty("tasks_by_time").EnumerateArray().Select(x => x.GetString()).Order().ToList();
            var gIds = ours.RootElement.GetProperty("tasks_by_time").EnumerateArray().Select(x => x.GetString()).Order().ToList();
            if (!eIds.SequenceEqual(gIds)) _report.Failures.Add($"state of {node.Name}: tasks_by_time holds {gIds.Count} tasks, Celery's {eIds.Count}");
        }
        // The bound: past max-tasks-in-memory the least recently used clean entities passivate, once
        // the checkpoint that saves them has committed; so a node may stand a checkpoint's worth of
        // new tasks over it (5% allowed), and back within it at the end. During its store's outage
        // nothing can be saved, hence passivated: that peak is reported, bounded by the unacked window.
        var allowed = profile.MaxTasksInMemory + profile.MaxTasksInMemory / 20;
        foreach (var (node, peak) in _report.PeakLiveTasks)
            if (peak > allowed) _report.Failures.Add($"memory: {node} held {peak} tasks in memory, over its bound of {profile.MaxTasksInMemory} (+5%)");
        foreach (var (node, last) in _report.FinalLiveTasks)
            if (last > profile.MaxTasksInMemory) _report.Failures.Add($"memory: {node} ended with {last} tasks in memory, over its bound of {profile.MaxTasksInMemory}");
        _report.Notes.Add("Counters are sampled every second from each node's /api/stats and summed over every node process of the run; a killed node's last second is not in them.");
    }

    // ---- nodes ----

    private IEnumerable<ChaosNode> RunningCluster() => _cluster.Where(n => n is not null && !n.Process.HasExited)!;

    private string[] NodeArgs(string name, string journal, string nodeId, int akkaPort, string? seeds)
    {
        // The task heap kept whole, as the reference keeps it (celery_reference.py bounds nothing):
        // at the default (40,000 entries, one per task event) a long run's tasks_by_time is trimmed.
        var config = string.Join('\n', "actormonitor.receiver.utcoffset = 0", "actormonitor.event-queue.durable = on",
            "actormonitor.metrics.queue-sample-interval = off", "actormonitor.state.max-timeline-entries = 1000000");
        string[] args = ["--journal", journal, "--node-id", nodeId, "--node-name", name, "--akka-port", akkaPort.ToString(),
            "--max-tasks-in-memory", profile.MaxTasksInMemory.ToString(), "--config", config];
        return seeds is null ? args : [.. args, "--seed-nodes", seeds];
    }

    private async Task StartClusterNodeAsync(int i)
    {
        var seeds = string.Join(",", _akkaPorts.Select(p => $"akka.tcp://actormonitor@127.0.0.1:{p}"));
        var name = $"node-{i + 1}";
        var node = await ChaosNode.StartAsync(name, i == PartitionedNode ? _partition.Cgroup : null, env.BrokerUrl, NodeStart,
            NodeArgs(name, _journal, $"chaos-{_id}", _akkaPorts[i], seeds));
        _cluster[i] = node;
        lock (_everyNode) _everyNode.Add(node);
    }

    private Task WaitForMembersAsync(int count, TimeSpan timeout) =>
        WaitUntilAsync(async () => await RunningCluster().First().UpMembersAsync() == count, timeout, $"{count} members Up");

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await SafeAsync(condition))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}");
            await Task.Delay(250);
        }
    }

    private static async Task<bool> SafeAsync(Func<Task<bool>> condition)
    {
        try
        {
            return await condition();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or RabbitMQ.Client.Exceptions.BrokerUnreachableException
                                       or RabbitMQ.Client.Exceptions.OperationInterruptedException or InvalidOperationException)
        {
            return false;
        }
    }

    private async Task DumpAsync()
    {
        foreach (var n in RunningCluster().Append(_sqlite!))
        {
            try
            {
                using var stats = await n.StatsAsync();
                Log($"{n.Name} stats: {stats.RootElement}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { Log($"{n.Name} stats: {ex.Message}"); }
            Log($"{n.Name} log:\n{ChaosNode.Tail(n.Process.Stderr, 6000)}");
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var c = new Npgsql.NpgsqlConnection(env.PostgresConnection + ";Pooling=false");
        await c.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {error}");
    }

    /// <summary>Ends every process the run started, heals the partition, unmounts the disk (also after a failure); keeps node logs in the work directory.</summary>
    public async ValueTask DisposeAsync()
    {
        _sampling?.Cancel();
        if (_sampler is not null) await _sampler;
        foreach (var p in new[] { _celeryClient, _simulator, _celeryWorker, _capture })
            if (p is not null) { p.Signal(18); await p.DisposeAsync(); }
        var logs = Path.Combine(env.WorkDirectory, "logs");
        Directory.CreateDirectory(logs);
        foreach (var n in _everyNode)
        {
            var pid = n.Process.Pid;
            n.Process.Signal(18);
            await n.Process.DisposeAsync();
            await File.WriteAllTextAsync(Path.Combine(logs, $"{n.Name}-{pid}.log"), n.Process.Stderr);
        }
        _partition.Dispose();
        if (_mounted)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Run("umount", _mount); } catch (InvalidOperationException ex) { log("cleanup: " + ex.Message); }
        }
    }
}
