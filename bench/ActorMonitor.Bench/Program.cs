using System.Diagnostics;
using System.Globalization;
using ActorMonitor.Bench;

// Usage: ActorMonitor.Bench MODE CAPTURE
//   decode  - decode every message (the source side), events/s
//   replay  - the whole pipeline: receiver actor + sharded task/worker entities + index, events/s
//   bare    - the bare sharding ceiling: the same decoded events told, with the same flow control,
//             to sharded entities that only count them, events/s
// Prints one line: "MODE events=N seconds=S events_per_s=R".
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: ActorMonitor.Bench decode|replay|bare CAPTURE");
    return 2;
}
var lines = File.ReadAllLines(args[1]).Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
var result = args[0] switch
{
    "decode" => Modes.Decode(lines),
    "inline" => Modes.Inline(lines),
    "replay" => await Modes.ReplayAsync(lines),
    "bare" => await Modes.BareAsync(lines),
    _ => throw new ArgumentException("unknown mode " + args[0]),
};
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{args[0]} events={result.Events} seconds={result.Elapsed.TotalSeconds:F3} events_per_s={result.Events / result.Elapsed.TotalSeconds:F0} peak_working_set_mb={Process.GetCurrentProcess().PeakWorkingSet64 / 1048576}"));
return 0;
