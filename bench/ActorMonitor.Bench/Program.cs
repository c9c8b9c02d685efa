using System.Diagnostics;
using System.Globalization;
using ActorMonitor.Bench;

// Usage: ActorMonitor.Bench MODE CAPTURE
//   decode  - decode every message (the source side), events/s
//   inline  - the protocol library alone on one thread (decode, receiver rules, index, state), events/s
//   replay  - the whole pipeline: receiver actor + sharded task/worker entities + index, events/s
//   bare    - the bare sharding ceiling: the same decoded events told, with the same flow control,
//             to sharded entities that only count them, events/s
//   bucket-ceiling / entity-ceiling - receiver rules, index and the task and worker records applied
//             by sharded buckets of tasks / by an entity per task, without keeper, store or metrics:
//             what either design could reach at most (see BucketCeiling), events/s
// Prints one line: "MODE events=N seconds=S events_per_s=R".
//   live BROKER_URL / live-bare BROKER_URL - sustained ingest from RabbitMQ (see LiveIngest);
//     live-sqlite / live-postgres: the same node persisting to SQLite / BENCH_PG_JOURNAL
//   scale-out CAPTURE BROKER_URL PG_CONNECTION [--nodes 1,2,3] [--quota CORES] ... - N node processes
//     (`actormonitor run`), each in a CPU cgroup with the same quota, drain one shared queue on
//     PostgreSQL; one line per run and node count (see ScaleOut; bench/scaleout drives it)
//   memory - a large capture streamed through a node on SQLite with the default limits: peak RSS
//     at 10/50/100% and latency of queries for tasks passivated long ago (see MemoryBench)
//   query [--reuse] - a large capture streamed through a node on SQLite, then the latency of pages of 50
//     through the HTTP query API and the read side's freshness on the live node (see QueryBench)
//   store / store-read - the store's write path alone: the capture's tasks committed to SQLite in
//     batches of 4,000, marked new or looked up first, rows/s (see StoreCommitBench)
//   chaos BROKER_PORT PG_PORT PG_CONNECTION WORK_DIR [--minutes M] - faults in turn while a fleet
//     streams into four nodes; prints the table of faults (see ChaosRun; bench/run chaos drives it)
// The node's own set-up: two malloc arenas (see NativeHeap).
Console.Error.WriteLine($"malloc arenas capped at two: {ActorMonitor.Host.NativeHeap.LimitArenas()}");
using var allocations = AllocationSampler.StartIfAsked();
if (args.Length >= 2 && args[0] == "query")
{
    Console.WriteLine(await QueryBench.RunAsync(args[1], args.Contains("--reuse")));
    return 0;
}
if (args.Length == 2 && args[0] == "memory")
{
    Console.WriteLine(await MemoryBench.RunAsync(args[1]));
    allocations?.Report();
    return 0;
}
if (args.Length >= 1 && args[0] == "chaos") return await Chaos.RunAsync(args);
if (args.Length >= 1 && args[0] == "scale-out") return await ScaleOut.RunAsync(ScaleOut.Parse(args));
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: ActorMonitor.Bench decode|inline|replay|bare|relay-wire CAPTURE | live|live-bare CAPTURE BROKER_URL");
    return 2;
}
// The capture is read into memory first (not timed): the runs measure the pipeline, not the disk.
var bytes = File.ReadAllBytes(args[1]);
var lines = args[0] is "replay" or "bucket-ceiling" or "entity-ceiling" || args[0].StartsWith("live") ? [] : System.Text.Encoding.UTF8.GetString(bytes).Split('\n').Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
var result = args[0] switch
{
    "decode" => Modes.Decode(lines),
    "inline" => Modes.Inline(lines),
    "replay" => await Modes.ReplayAsync(bytes),
    "bare" => await Modes.BareAsync(lines),
    "relay-wire" => await RelayWire.RunAsync(lines),
    "bucket-ceiling" => await BucketCeiling.RunAsync(bytes, perTask: false),
    "entity-ceiling" => await BucketCeiling.RunAsync(bytes, perTask: true),
    "store" or "store-read" => StoreCommitBench.Run(args[0], lines),
    "live" or "live-bare" or "live-sqlite" or "live-postgres" => await LiveIngest.RunAsync(args[0], args[2], bytes),
    _ => throw new ArgumentException("unknown mode " + args[0]),
};
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{args[0]} events={result.Events} seconds={result.Elapsed.TotalSeconds:F3} events_per_s={result.Events / result.Elapsed.TotalSeconds:F0} peak_working_set_mb={Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} {result.Extra}").TrimEnd());
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"gc: gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)} pause_s={GC.GetTotalPauseDuration().TotalSeconds:F2} allocated_mb={GC.GetTotalAllocatedBytes() / 1048576}"));
allocations?.Report();
return 0;
