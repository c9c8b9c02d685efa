using System.Diagnostics;
using System.Globalization;

namespace ActorMonitor.Bench;

/// <summary>
/// Where the CPU went during a timed window: this process (the nodes), the broker (RabbitMQ's
/// beam.smp) and PostgreSQL (every postgres process), each as a percentage of one core over the
/// window (the machine's ceiling is 100 × cores), read from /proc (user + system ticks). This is
/// how a live row tells which of node, broker and database is the bottleneck.
/// </summary>
public sealed class CpuShares
{
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private readonly TimeSpan _self = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly double _broker = Ticks("beam.smp");
    private readonly double _database = Ticks("postgres");

    public string Line()
    {
        var wall = _wall.Elapsed.TotalSeconds;
        var self = (Process.GetCurrentProcess().TotalProcessorTime - _self).TotalSeconds;
        var hz = 100.0; // USER_HZ on Linux
        var broker = (Ticks("beam.smp") - _broker) / hz;
        var database = (Ticks("postgres") - _database) / hz;
        return string.Create(CultureInfo.InvariantCulture,
            $"cpu_node_pct={100 * self / wall:F0} cpu_broker_pct={100 * broker / wall:F0} cpu_db_pct={100 * database / wall:F0} cpu_ceiling_pct={100 * Environment.ProcessorCount}");
    }

    /// <summary>utime + stime of every process whose command name is <paramref name="comm"/>.</summary>
    private static double Ticks(string comm)
    {
        double sum = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                if (stat[(open + 1)..close] != comm) continue;
                // Fields after the command: state is the 3rd field of the line, utime the 14th, stime the 15th.
                var rest = stat[(close + 2)..].Split(' ');
                sum += double.Parse(rest[11], CultureInfo.InvariantCulture) + double.Parse(rest[12], CultureInfo.InvariantCulture);
            }
            catch (IOException) { } // the process ended meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return sum;
    }
}
