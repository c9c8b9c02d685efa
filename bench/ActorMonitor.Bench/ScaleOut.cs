using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host;
using ActorMonitor.Rabbit;
using RabbitMQ.Client;

namespace ActorMonitor.Bench;

/// <summary>
/// scale-out: N node processes (`actormonitor run`), each in a CPU cgroup of its own with the same
/// quota, form one cluster on PostgreSQL and drain one shared queue holding more than they can take
/// in the window. Broker, database and this process (the publisher) run outside the quotas, so a
/// row measures what the nodes do with equal CPU each, not what the machine has left.
/// One row per run and node count:
///   publish the capture into the shared queue at full speed → start the nodes (the pid enters the
///   cgroup before exec) → all N Up → warm-up → window: messages made durable (the nodes' receiver
///   counters: received − in flight − awaiting their checkpoint, smooth at the checkpoint interval)
///   and messages acked to the broker (acked after that checkpoint, in runs of unbroken delivery
///   tags, hence in bursts of up to the prefetch: only a long window averages them), node CPU from
///   /proc/PID/stat, the cgroups' throttling from cpu.stat, the queue's ready count every few
///   seconds (0 at any sample: the row was bounded by the backlog, not the nodes).
/// Nodes, cgroups, the queue and the schema are removed after each row, also on SIGINT/SIGTERM.
/// </summary>
public static class ScaleOut
{
    public sealed record Options(
        string Capture, string BrokerUrl, string PgConnection, int[] Nodes, double Quota,
        TimeSpan Warmup, TimeSpan Window, int Runs, string Logs, string CgroupPrefix);

    private static readonly TimeSpan Sample = TimeSpan.FromSeconds(5);

    // The benchmark's own broker and database (bench/scaleout passes their pids): other engineers'
    // instances on a shared machine are not counted. Unset: every beam.smp / postgres process.
    private static readonly int? BrokerPid = int.TryParse(Environment.GetEnvironmentVariable("BENCH_BROKER_PID"), out var b) ? b : null;
    private static readonly int? DbPid = int.TryParse(Environment.GetEnvironmentVariable("BENCH_PG_PID"), out var d) ? d : null;

    public static Options Parse(string[] args)
    {
        // scale-out CAPTURE BROKER_URL PG_CONNECTION [--nodes 1,2,3] [--quota 0.3] [--warmup S] [--window S] [--runs R] [--logs DIR]
        if (args.Length < 4) throw new ArgumentException("usage: scale-out CAPTURE BROKER_URL PG_CONNECTION [--nodes 1,2,3] [--quota CORES] [--warmup S] [--window S] [--runs R] [--logs DIR] [--cgroup-prefix NAME]");
        var o = new Options(args[1], args[2], args[3], [1, 2, 3], 0.3, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), 1,
            Path.Combine(Path.GetTempPath(), "actormonitor-bench-scaleout"), $"actormonitor-bench-{Environment.ProcessId}");
        for (var i = 4; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
            var v = args[i + 1];
            o = args[i] switch
            {
                "--nodes" => o with { Nodes = v.Split(',').Select(int.Parse).ToArray() },
                "--quota" => o with { Quota = double.Parse(v, CultureInfo.InvariantCulture) },
                "--warmup" => o with { Warmup = TimeSpan.FromSeconds(double.Parse(v, CultureInfo.InvariantCulture)) },
                "--window" => o with { Window = TimeSpan.FromSeconds(double.Parse(v, CultureInfo.InvariantCulture)) },
                "--runs" => o with { Runs = int.Parse(v) },
                "--logs" => o with { Logs = v },
                "--cgroup-prefix" => o with { CgroupPrefix = v },
                _ => throw new ArgumentException("unknown option " + args[i]),
            };
        }
        if (o.Quota is <= 0 or > 64) throw new ArgumentException($"--quota is in cores, e.g. 0.3, not {o.Quota}");
        if (o.Nodes.Length == 0 || o.Nodes.Any(n => n is < 1 or > 16)) throw new ArgumentException("--nodes takes counts from 1 to 16");
        return o;
    }

    public static async Task<int> RunAsync(Options o)
    {
        using var cts = new CancellationTokenSource();
        // Ctrl-C reaches the nodes too (same process group); the rows' finally blocks remove the rest.
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cts.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        var dll = Path.Combine(AppContext.BaseDirectory, "actormonitor.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("the node's build is missing beside the bench", dll);
        Directory.CreateDirectory(o.Logs);
        var capture = File.ReadAllBytes(o.Capture);
        try
        {
            for (var run = 1; run <= o.Runs; run++)
                foreach (var n in o.Nodes)
                    for (var attempt = 1; ; attempt++)
                    {
                        try
                        {
                            Console.WriteLine(await RowAsync(o, dll, n, run, capture, cts.Token));
                            break;
                        }
                        catch (NodeExitedException ex) when (attempt < 3)
                        {
                            // On a shared machine a node may be ended from outside (or downed while
                            // starved): the row is measured again from scratch, and says so.
                            Console.Error.WriteLine($"scale-out {n} node(s), run {run}: attempt {attempt} failed, measuring the row again: {ex.Message.Split('\n')[0]}");
                        }
                    }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.Error.WriteLine("scale-out: interrupted; nodes and cgroups removed");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
        {
            Console.Error.WriteLine($"scale-out failed (nodes and cgroups removed): {ex.Message}");
            return 1;
        }
        return 0;
    }

    private static async Task<string> RowAsync(Options o, string dll, int n, int run, byte[] capture, CancellationToken ct)
    {
        var tag = $"scale-out {n} node(s), run {run}";
        var nodeId = $"bench-scale-{Guid.NewGuid():N}";
        var schema = $"bench_scale_{Guid.NewGuid():N}";
        // The same text configures the nodes (--config) and this process's view of the queue, so
        // that the queue is declared here exactly as the nodes declare it.
        var shared = string.Join('\n',
            $"actormonitor.broker.url = {JsonSerializer.Serialize(o.BrokerUrl)}",
            $"actormonitor.event-queue.node-id = \"{nodeId}\"",
            "actormonitor.event-queue.expires = 600",
            "actormonitor.receiver.utcoffset = 0",
            "actormonitor.broker.wakeup-workers = off",
            // Worker inspection every 15 s is not ingest; it is off so that it costs no row anything.
            "actormonitor.metrics.queue-sample-interval = off");
        var settings = EventQueueConfig.Read(MonitorConfig.With(shared));
        var queue = settings.QueueName();
        var factory = BrokerAddress.Parse(o.BrokerUrl).CreateFactory("actormonitor bench scale-out");
        await ExecuteSqlAsync(o.PgConnection, $"CREATE SCHEMA {schema}", ct);

        var nodes = new List<NodeProcess>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        try
        {
            // The whole backlog first: nodes that drained it while it was being published could
            // empty the queue before the window ends (the row would then measure the publisher).
            var clock = Stopwatch.StartNew();
            var (messages, events) = await LiveIngest.PreloadAsync(factory, settings, queue, capture);
            var published = clock.Elapsed;
            Console.Error.WriteLine($"{tag}: published {messages} messages ({events} events) in {published.TotalSeconds:F1} s before the nodes start");

            var akkaPorts = Enumerable.Range(0, n).Select(_ => FreePort()).ToArray();
            var seeds = string.Join(",", akkaPorts.Select(p => $"akka.tcp://actormonitor@127.0.0.1:{p}"));
            for (var i = 0; i < n; i++)
            {
                var name = $"node{i + 1}";
                var cgroup = CpuCgroup.Create($"{o.CgroupPrefix}-{name}", o.Quota);
                var httpPort = FreePort();
                string[] args =
                [
                    dll, "run", "--broker", o.BrokerUrl, "--journal", $"postgres:{o.PgConnection};Search Path={schema}",
                    "--node-id", nodeId, "--node-name", $"bench-{name}", "--akka-port", akkaPorts[i].ToString(),
                    "--seed-nodes", seeds, "--http", $"127.0.0.1:{httpPort}", "--config", shared,
                ];
                nodes.Add(NodeProcess.Start(cgroup, Path.Combine(o.Logs, $"n{n}-r{run}-{name}.log"), args, $"http://127.0.0.1:{httpPort}"));
            }
            clock.Restart();
            await WaitUpAsync(http, nodes, TimeSpan.FromMinutes(4), ct);
            Console.Error.WriteLine($"{tag}: {n} member(s) Up after {clock.Elapsed.TotalSeconds:F0} s (quota {o.Quota} core each); warm-up {o.Warmup.TotalSeconds:F0} s");
            await DelayWatchingAsync(nodes, o.Warmup, ct);

            // The queue's depth is sampled on a channel of the bench's own, opened where it is first used.
            await using var connection = await factory.CreateConnectionAsync(ct);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);

            var ready = new List<uint>();
            var rates = new List<double>();
            var before = await SnapshotAsync(http, nodes, channel, queue, ct);
            ready.Add(before.Ready);
            var last = before;
            var end = before.At + o.Window.TotalSeconds;
            while (true)
            {
                var left = end - Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
                if (left <= 0) break;
                await DelayWatchingAsync(nodes, TimeSpan.FromSeconds(Math.Min(left, Sample.TotalSeconds)), ct);
                var s = await SnapshotAsync(http, nodes, channel, queue, ct);
                ready.Add(s.Ready);
                rates.Add((s.Durable.Sum() - last.Durable.Sum()) / (s.At - last.At));
                last = s;
            }
            var after = last;
            var seconds = after.At - before.At;
            var durable = after.Durable.Sum() - before.Durable.Sum();
            var acked = after.Acked.Sum() - before.Acked.Sum();
            var nodeCpu = Enumerable.Range(0, n).Select(i => (after.NodeTicks[i] - before.NodeTicks[i]) / Proc.Hz).ToArray();
            var periods = Enumerable.Range(0, n).Sum(i => after.Cgroups[i].Periods - before.Cgroups[i].Periods);
            var throttled = Enumerable.Range(0, n).Sum(i => after.Cgroups[i].Throttled - before.Cgroups[i].Throttled);
            var throttledSeconds = Enumerable.Range(0, n).Sum(i => after.Cgroups[i].ThrottledSeconds - before.Cgroups[i].ThrottledSeconds);
            var broker = (after.BrokerTicks - before.BrokerTicks) / Proc.Hz;
            var db = (after.DbTicks - before.DbTicks) / Proc.Hz;
            var machine = (after.MachineBusy - before.MachineBusy) / Proc.Hz;
            var self = (after.SelfCpu - before.SelfCpu).TotalSeconds;
            var others = machine - nodeCpu.Sum() - broker - db - self;
            var queueEmpty = ready.Any(r => r == 0);
            var inv = CultureInfo.InvariantCulture;
            string Pct(double cpuSeconds) => (100 * cpuSeconds / seconds).ToString("F0", inv);
            var line = string.Create(inv,
                $"scale-out nodes={n} run={run} quota={o.Quota} window_s={seconds:F1} durable={durable} msgs_per_s={durable / seconds:F1} acked={acked} acks_per_s={acked / seconds:F1} " +
                $"node_cpu_s={nodeCpu.Sum():F2} cpu_s_per_1000={(durable > 0 ? 1000 * nodeCpu.Sum() / durable : 0):F3} node_cpu_pct={string.Join(",", nodeCpu.Select(Pct))} " +
                $"nr_periods={periods} nr_throttled={throttled} throttled_s={throttledSeconds:F1} " +
                $"queue_empty={(queueEmpty ? 1 : 0)} ready_start={before.Ready} ready_end={after.Ready} ready_min={ready.Min()} delivered={(long)before.Ready - after.Ready} " +
                $"rate_5s_min={(rates.Count > 0 ? rates.Min() : 0):F0} rate_5s_max={(rates.Count > 0 ? rates.Max() : 0):F0} " +
                $"durable_per_node={string.Join(",", Enumerable.Range(0, n).Select(i => after.Durable[i] - before.Durable[i]))} " +
                $"acked_per_node={string.Join(",", Enumerable.Range(0, n).Select(i => after.Acked[i] - before.Acked[i]))} " +
                $"commits_per_node={string.Join(",", Enumerable.Range(0, n).Select(i => after.Store[i].Commits - before.Store[i].Commits))} " +
                $"rows_per_node={string.Join(",", Enumerable.Range(0, n).Select(i => after.Store[i].Rows - before.Store[i].Rows))} " +
                $"relayed_per_node={string.Join(",", Enumerable.Range(0, n).Select(i => after.Store[i].Relayed - before.Store[i].Relayed))} " +
                $"broker_pct={Pct(broker)} db_pct={Pct(db)} bench_pct={Pct(self)} others_pct={Pct(Math.Max(0, others))} machine_pct={Pct(machine)} cores={Environment.ProcessorCount} " +
                $"load1={File.ReadAllText("/proc/loadavg").Split(' ')[0]} backlog={messages} publish_s={published.TotalSeconds:F1}");
            Console.Error.WriteLine($"{tag}: {line}");
            return line;
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
            try
            {
                await using var connection = await factory.CreateConnectionAsync(CancellationToken.None);
                await using var channel = await connection.CreateChannelAsync();
                // Not waited for: deleting a queue that still holds a large backlog takes the broker a while.
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, noWait: true);
                await channel.QueueDeleteAsync(settings.OverflowQueueName(queue), ifUnused: false, ifEmpty: false, noWait: true);
            }
            catch (Exception ex) { Console.Error.WriteLine($"{tag}: could not delete the queue {queue}: {ex.Message}"); }
            try { await ExecuteSqlAsync(o.PgConnection, $"DROP SCHEMA {schema} CASCADE", CancellationToken.None); }
            catch (Exception ex) { Console.Error.WriteLine($"{tag}: could not drop schema {schema}: {ex.Message}"); }
        }
    }

    private sealed record Snapshot(double At, long[] Durable, long[] Acked, double[] NodeTicks, CgroupStat[] Cgroups, uint Ready,
        double BrokerTicks, double DbTicks, double MachineBusy, TimeSpan SelfCpu)
    {
        /// <summary>Each node's keeper commits, rows written and events its receiver relayed to other nodes (0 where not reported).</summary>
        public (long Commits, long Rows, long Relayed)[] Store { get; init; } = [];
    }

    /// <summary>The counters at one moment: /proc and cpu.stat first (instant), then the nodes' HTTP counters.</summary>
    private static async Task<Snapshot> SnapshotAsync(HttpClient http, List<NodeProcess> nodes, IChannel channel, string queue, CancellationToken ct)
    {
        var at = Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
        var ticks = nodes.Select(n => Proc.Ticks(n.Pid)).ToArray();
        var cgroups = nodes.Select(n => n.Cgroup.Stat()).ToArray();
        var all = Proc.All();
        var brokerTicks = Proc.Ticks(all, BrokerPid, "beam.smp");
        var dbTicks = Proc.Ticks(all, DbPid, "postgres");
        var machine = Proc.MachineBusyTicks();
        var self = Process.GetCurrentProcess().TotalProcessorTime;
        var counters = await Task.WhenAll(nodes.Select(async n =>
        {
            string body;
            try { body = await http.GetStringAsync(n.Http + "/api/stats", ct); }
            catch (HttpRequestException) { n.ThrowIfExited(); throw; } // a node that ended says why
            using var stats = JsonDocument.Parse(body);
            var r = stats.RootElement;
            var durable = r.GetProperty("messages").GetInt64() - r.GetProperty("in_flight").GetInt64() - r.GetProperty("awaiting_checkpoint").GetInt64();
            var store = r.GetProperty("store");
            var relayed = r.TryGetProperty("relayed_events", out var rel) ? rel.GetInt64() : 0;
            return (Durable: durable, Acked: r.GetProperty("broker").GetProperty("acked").GetInt64(),
                Store: (store.GetProperty("commits").GetInt64(), store.GetProperty("rows_written").GetInt64(), relayed));
        }));
        var ready = (await channel.QueueDeclarePassiveAsync(queue, ct)).MessageCount;
        return new Snapshot(at, counters.Select(c => c.Durable).ToArray(), counters.Select(c => c.Acked).ToArray(), ticks, cgroups, ready, brokerTicks, dbTicks, machine, self)
        {
            Store = counters.Select(c => c.Store).ToArray(),
        };
    }

    private static async Task WaitUpAsync(HttpClient http, List<NodeProcess> nodes, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            foreach (var node in nodes) node.ThrowIfExited();
            try
            {
                var up = 0;
                foreach (var node in nodes)
                {
                    using var stats = JsonDocument.Parse(await http.GetStringAsync(node.Http + "/api/stats", ct));
                    var members = stats.RootElement.GetProperty("cluster").GetProperty("members").EnumerateArray().ToList();
                    var connected = stats.RootElement.GetProperty("broker").GetProperty("connected").GetBoolean();
                    if (connected && members.Count == nodes.Count && members.All(m => m.GetProperty("status").GetString() == "Up" && m.GetProperty("reachable").GetBoolean())) up++;
                }
                if (up == nodes.Count) return;
            }
            catch (HttpRequestException) { } // not serving yet
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"the {nodes.Count} node(s) were not all Up and consuming after {timeout.TotalSeconds:F0} s; logs: {string.Join(", ", nodes.Select(n => n.Log))}");
            await Task.Delay(500, ct);
        }
    }

    /// <summary>Waits, failing at once when a node process ends (its log's tail says why).</summary>
    private static async Task DelayWatchingAsync(List<NodeProcess> nodes, TimeSpan delay, CancellationToken ct)
    {
        var until = Stopwatch.StartNew();
        while (until.Elapsed < delay)
        {
            foreach (var node in nodes) node.ThrowIfExited();
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(500, Math.Max(1, (delay - until.Elapsed).TotalMilliseconds))), ct);
        }
    }

    private static async Task ExecuteSqlAsync(string connectionString, string sql, CancellationToken ct)
    {
        await using var c = new Npgsql.NpgsqlConnection(connectionString + ";Pooling=false");
        await c.OpenAsync(ct);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>One `actormonitor run` process, started inside its CPU cgroup: the shell writes its own pid
/// into cgroup.procs and then execs dotnet, so the runtime starts under the quota (and sizes itself by it).</summary>
internal sealed class NodeProcess : IDisposable
{
    private readonly Process _process;

    private NodeProcess(Process process, CpuCgroup cgroup, string log, string http)
    {
        _process = process;
        Cgroup = cgroup;
        Log = log;
        Http = http;
    }

    public CpuCgroup Cgroup { get; }
    public string Log { get; }
    public string Http { get; }
    public int Pid => _process.Id;

    public static NodeProcess Start(CpuCgroup cgroup, string log, string[] dotnetArgs, string http)
    {
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("echo $$ > \"$1\" || exit 97; log=\"$2\"; shift 2; exec \"$@\" > \"$log\" 2>&1");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(cgroup.Procs);
        psi.ArgumentList.Add(log);
        psi.ArgumentList.Add("dotnet");
        foreach (var a in dotnetArgs) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start sh");
        var node = new NodeProcess(process, cgroup, log, http);
        // Not measured until the process is seen inside its cgroup.
        var wait = Stopwatch.StartNew();
        while (!cgroup.Holds(process.Id))
        {
            if (process.HasExited || wait.Elapsed > TimeSpan.FromSeconds(10))
            {
                node.Dispose();
                throw new InvalidOperationException($"node process {process.Id} did not enter cgroup {cgroup.Path}");
            }
            Thread.Sleep(10);
        }
        return node;
    }

    public void ThrowIfExited()
    {
        if (!_process.HasExited) return;
        var tail = File.Exists(Log) ? string.Join('\n', File.ReadLines(Log).TakeLast(15)) : "(no log)";
        throw new NodeExitedException($"node process {_process.Id} exited with {_process.ExitCode}; {Log}:\n{tail}");
    }

    /// <summary>Killed outright (a benchmark's node has nothing to hand off), then its cgroup removed.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { } // never started or already reaped
        _process.Dispose();
        Cgroup.Dispose();
    }
}

internal sealed class NodeExitedException(string message) : InvalidOperationException(message);

internal sealed record CgroupStat(long Periods, long Throttled, double ThrottledSeconds);

/// <summary>
/// A CPU cgroup with a CFS quota: cgroup v1's cpu controller (cpu.cfs_quota_us / cpu.cfs_period_us)
/// where it is mounted, else cgroup v2 (cpu.max). Needs root. Its weight is ten times the default
/// (cpu.shares 10240, cpu.weight 1000): the quota is only a ceiling, and on a machine busy with
/// other work the weight is what lets a node have its quota whenever it can use it.
/// </summary>
internal sealed class CpuCgroup : IDisposable
{
    private const string V1Root = "/sys/fs/cgroup/cpu";
    private const string V2Root = "/sys/fs/cgroup";
    private const long Period = 100_000;
    private readonly bool _v2;

    private CpuCgroup(string path, bool v2)
    {
        Path = path;
        _v2 = v2;
    }

    public string Path { get; }
    public string Procs => System.IO.Path.Combine(Path, "cgroup.procs");

    public static CpuCgroup Create(string name, double cores)
    {
        var quota = (long)Math.Round(cores * Period);
        if (File.Exists(System.IO.Path.Combine(V1Root, "cpu.cfs_quota_us")))
        {
            var path = System.IO.Path.Combine(V1Root, name);
            Directory.CreateDirectory(path);
            File.WriteAllText(System.IO.Path.Combine(path, "cpu.cfs_period_us"), Period.ToString());
            File.WriteAllText(System.IO.Path.Combine(path, "cpu.cfs_quota_us"), quota.ToString());
            File.WriteAllText(System.IO.Path.Combine(path, "cpu.shares"), (10 * 1024).ToString());
            return new CpuCgroup(path, v2: false);
        }
        if (File.Exists(System.IO.Path.Combine(V2Root, "cgroup.controllers")))
        {
            var control = System.IO.Path.Combine(V2Root, "cgroup.subtree_control");
            if (!File.ReadAllText(control).Split(' ', '\n').Contains("cpu")) File.WriteAllText(control, "+cpu");
            var path = System.IO.Path.Combine(V2Root, name);
            Directory.CreateDirectory(path);
            File.WriteAllText(System.IO.Path.Combine(path, "cpu.max"), $"{quota} {Period}");
            File.WriteAllText(System.IO.Path.Combine(path, "cpu.weight"), "1000");
            return new CpuCgroup(path, v2: true);
        }
        throw new InvalidOperationException($"no CPU cgroup controller: neither {V1Root}/cpu.cfs_quota_us (v1) nor {V2Root}/cgroup.controllers (v2)");
    }

    public bool Holds(int pid) => ReadProcs().Contains(pid);

    public CgroupStat Stat()
    {
        var kv = File.ReadAllLines(System.IO.Path.Combine(Path, "cpu.stat"))
            .Select(l => l.Split(' ')).Where(p => p.Length == 2).ToDictionary(p => p[0], p => long.Parse(p[1]));
        // v1 counts throttled time in ns, v2 in µs.
        var throttledSeconds = _v2 ? kv.GetValueOrDefault("throttled_usec") / 1e6 : kv.GetValueOrDefault("throttled_time") / 1e9;
        return new CgroupStat(kv.GetValueOrDefault("nr_periods"), kv.GetValueOrDefault("nr_throttled"), throttledSeconds);
    }

    private int[] ReadProcs()
    {
        try { return File.ReadAllLines(Procs).Where(l => l.Length > 0).Select(int.Parse).ToArray(); }
        catch (IOException) { return []; }
    }

    /// <summary>Kills what is left inside (only processes this bench put there), then removes the group.</summary>
    public void Dispose()
    {
        for (var i = 0; i < 50 && Directory.Exists(Path); i++)
        {
            var pids = ReadProcs();
            foreach (var pid in pids)
                try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
            if (pids.Length == 0)
                try { Directory.Delete(Path); return; } catch (IOException) { }
            Thread.Sleep(100);
        }
        if (Directory.Exists(Path)) Console.Error.WriteLine($"cgroup {Path} could not be removed");
    }
}

/// <summary>CPU figures from /proc, in clock ticks (USER_HZ).</summary>
internal static class Proc
{
    public const double Hz = 100.0; // USER_HZ on Linux

    public static double Ticks(int pid) => Parse(File.ReadAllText($"/proc/{pid}/stat")).Ticks;

    public sealed record ProcStat(int Pid, int Parent, string Comm, double Ticks);

    /// <summary>Every process: pid, parent, command name, utime + stime.</summary>
    public static List<ProcStat> All()
    {
        var all = new List<ProcStat>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var (comm, ppid, ticks) = Parse(File.ReadAllText(System.IO.Path.Combine(dir, "stat")));
                all.Add(new ProcStat(pid, ppid, comm, ticks));
            }
            catch (IOException) { } // ended meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return all;
    }

    /// <summary>Ticks of <paramref name="root"/> and its descendants; without a root, of every process named <paramref name="comm"/>.</summary>
    public static double Ticks(List<ProcStat> all, int? root, string comm)
    {
        if (root is not { } r) return all.Where(p => p.Comm == comm).Sum(p => p.Ticks);
        var children = all.ToLookup(p => p.Parent);
        var byPid = all.ToDictionary(p => p.Pid);
        double sum = 0;
        var stack = new Stack<int>([r]);
        while (stack.TryPop(out var pid))
        {
            sum += byPid.TryGetValue(pid, out var p) ? p.Ticks : 0;
            foreach (var c in children[pid]) stack.Push(c.Pid);
        }
        return sum;
    }

    /// <summary>Busy ticks of the whole machine (all cores): everything in /proc/stat's cpu line but idle and iowait.</summary>
    public static double MachineBusyTicks()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(double.Parse).ToArray();
        // user nice system idle iowait irq softirq steal (guest time is already inside user)
        return f.Take(8).Sum() - f[3] - f[4];
    }

    private static (string Comm, int Parent, double Ticks) Parse(string stat)
    {
        var open = stat.IndexOf('(');
        var close = stat.LastIndexOf(')');
        // After the command: state is field 3 of the line, ppid field 4, utime field 14, stime field 15.
        var rest = stat[(close + 2)..].Split(' ');
        return (stat[(open + 1)..close], int.Parse(rest[1], CultureInfo.InvariantCulture),
            double.Parse(rest[11], CultureInfo.InvariantCulture) + double.Parse(rest[12], CultureInfo.InvariantCulture));
    }
}
