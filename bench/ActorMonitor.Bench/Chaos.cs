using System.Globalization;
using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Bench;

/// <summary>
/// chaos: the chaos run's long profile (ChaosRun, the same driver as the slow test ChaosTests) on
/// the broker and database bench/run started; prints the table of faults and exits 1 when the
/// run fell short anywhere.
/// </summary>
public static class Chaos
{
    public static async Task<int> RunAsync(string[] args)
    {
        // chaos BROKER_PORT PG_PORT PG_CONNECTION WORK_DIR [--minutes M]
        if (args.Length < 5) throw new ArgumentException("usage: chaos BROKER_PORT PG_PORT PG_CONNECTION WORK_DIR [--minutes M]");
        var minutes = args.Length >= 7 && args[5] == "--minutes" ? double.Parse(args[6], CultureInfo.InvariantCulture) : 10;
        var env = new ChaosEnvironment(int.Parse(args[1]), int.Parse(args[2]), args[3], args[4]);
        ChaosReport report;
        try
        {
            await using var run = new ChaosRun(env, ChaosProfile.Long(minutes), Console.Error.WriteLine);
            report = await run.RunAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
        {
            // Processes, partition and mount are cleaned up by then.
            Console.Error.WriteLine($"chaos run broke off: {ex}");
            return 1;
        }
        Console.WriteLine(report.Table());
        return report.Failures.Count == 0 ? 0 : 1;
    }
}
