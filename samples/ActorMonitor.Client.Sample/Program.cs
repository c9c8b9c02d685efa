// Queries a running monitor node twice: once from a system that joins the monitor's cluster as a
// member with the role "client", once from a system outside the cluster, through a ClusterClient
// and the node's receptionist. Each time it prints a task, a page of the task list, the counts,
// the workers and the answering node's counters.
//
//   dotnet run --project samples/ActorMonitor.Client.Sample -- akka.tcp://actormonitor@127.0.0.1:4053
//   options: --task UUID (default: the newest task of the page), --limit N (default 5),
//            --hostname HOST (this machine's address the node can reach, default 127.0.0.1),
//            --only member|cluster-client
using System.Text.Json;
using ActorMonitor.Celery.State;
using ActorMonitor.Client;
using Akka.Actor;
using Akka.Configuration;

if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
{
    Console.Error.WriteLine("usage: ActorMonitor.Client.Sample NODE_ADDRESS [--task UUID] [--limit N] [--hostname HOST] [--only member|cluster-client]");
    return 2;
}
var node = args[0].TrimEnd('/');                       // akka.tcp://actormonitor@host:port
string? Option(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
var uuid = Option("--task");
var limit = int.Parse(Option("--limit") ?? "5");
var hostname = Option("--hostname") ?? "127.0.0.1";
var only = Option("--only");
var timeout = TimeSpan.FromSeconds(30);
// Overrides go in front of the client's configuration; Akka logs to standard output.
var quiet = ConfigurationFactory.ParseString("akka.loglevel = WARNING");

if (only is null or "member")
{
    // A member: named as the monitor's cluster (the name is in the node's address), the node as seed.
    var clusterName = Address.Parse(node).System;
    var system = ActorSystem.Create(clusterName, quiet.WithFallback(MonitorClient.Config(seedNodes: [node], hostname: hostname)));
    try
    {
        var monitor = await MonitorClient.StartAsync(system, timeout: timeout);
        Console.WriteLine($"== as a cluster member (role {MonitorClient.ClientRole}) of {node}");
        await ShowAsync(monitor);
    }
    finally
    {
        // A graceful leave: the monitor's members see this one go, not fail.
        await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
    }
}

if (only is null or "cluster-client")
{
    // Not a member: any system name, plain remoting; the node's receptionist is the contact point.
    var system = ActorSystem.Create("sample", quiet.WithFallback(MonitorClient.ClusterClientConfig(hostname: hostname)));
    try
    {
        var monitor = MonitorClient.StartClusterClient(system, [MonitorClient.ContactPoint(node)], timeout);
        Console.WriteLine($"== through a ClusterClient, contact {MonitorClient.ContactPoint(node)}");
        await ShowAsync(monitor);
    }
    finally
    {
        await system.Terminate();
    }
}
return 0;

async Task ShowAsync(MonitorClient monitor)
{
    var page = await monitor.TasksAsync(new GetTasks { Sort = "received", Descending = true, Limit = limit });
    var task = await monitor.TaskAsync(uuid ?? page.Tasks.FirstOrDefault()?.Uuid ?? "none");
    Console.WriteLine(task is null ? $"task {uuid}: unknown" : $"task {task.Uuid}: {Describe(task)}");

    Console.WriteLine($"tasks: {page.Total} in all; page of {page.Tasks.Count} from offset {page.Offset}, newest received first:");
    foreach (var t in page.Tasks) Console.WriteLine($"  {t.Uuid}  {Describe(t)}");

    var counts = await monitor.CountsAsync();
    Console.WriteLine($"counts: total {counts.Total}");
    Console.WriteLine($"  by state: {Join(counts.ByState)}");
    Console.WriteLine($"  by name: {Join(counts.ByName)}");
    Console.WriteLine($"  by worker: {Join(counts.ByWorker)}");

    var workers = await monitor.WorkersAsync();
    Console.WriteLine($"workers: {workers.Count}");
    foreach (var w in workers)
        Console.WriteLine($"  {w.Hostname}: {(w.Alive ? "alive" : "offline")}, {w.Heartbeats.Count} heartbeats kept, processed {Text(w.Fields.FirstOrDefault(kv => kv.Key == "processed").Value) ?? "-"}");

    var stats = await monitor.StatsAsync();
    Console.WriteLine($"stats of {stats.Node}: messages {stats.Messages}, rejected {stats.Rejected}, accepted events {stats.AcceptedEvents}, " +
        $"rejected events {stats.RejectedEvents}, in flight {stats.InFlight}");
    Console.WriteLine($"  store {stats.Store.Journal}: {stats.Store.LiveTasks} live tasks, {stats.Store.LiveWorkers} live workers, " +
        $"{stats.Store.Commits} commits, {stats.Store.RowsWritten} rows written{(stats.Store.Failing ? ", FAILING: " + stats.Store.LastError : "")}");
}

static string Describe(TaskSnapshot t) =>
    $"state {Text(t.Field("state")) ?? "-"}, name {Text(t.Field("name")) ?? "-"}, worker {t.Worker ?? "-"}";

static string Join(IReadOnlyDictionary<string, long> counts) =>
    string.Join(", ", counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

// Fields are raw JSON as Celery sent them: a string comes with its quotes.
static string? Text(string? raw) => raw is null ? null
    : raw.StartsWith('"') ? JsonSerializer.Deserialize<string>(raw) : raw;
