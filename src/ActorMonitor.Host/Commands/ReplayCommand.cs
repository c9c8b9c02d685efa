using ActorMonitor.Cluster.Hosting;

namespace ActorMonitor.Host.Commands;

/// <summary>
/// actormonitor replay CAPTURE [--as-of EPOCH]: feeds every captured message through the same
/// receiver actor and sharded entities as a live node, waits until all are applied, and writes
/// the state JSON (the oracle's schema plus "rejected") to standard output.
/// </summary>
public static class ReplayCommand
{
    public static async Task<int> RunAsync(string capturePath, double? asOf, string? hoconOverrides, Stream output, CancellationToken ct)
    {
        FileStream reader;
        try
        {
            reader = new FileStream(capturePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return CliError.Fail($"cannot read capture '{capturePath}': {ex.Message}");
        }

        using (reader)
        {
            var system = await MonitorSystem.StartAsync(MonitorConfig.With(hoconOverrides));
            try
            {
                var node = await MonitorNode.StartAsync(system);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                long messages;
                try
                {
                    using var progress = ProgressLine.OnTerminal("replay", "messages", reader.Length);
                    messages = await CaptureFeeder.FeedAsync(node, reader, ct, progress.Report);
                }
                catch (IOException ex)
                {
                    return CliError.Fail($"cannot read capture '{capturePath}': {ex.Message}");
                }
                await node.Queries.DrainAsync(node.Settings.AskTimeout);
                var applied = clock.Elapsed;
                var state = await node.Queries.StateAsync(asOf, ct);
                CliLog.Info(FormattableString.Invariant(
                    $"replayed {messages} messages ({state.EventCount} events) in {applied.TotalSeconds:F2} s; state read in {(clock.Elapsed - applied).TotalSeconds:F2} s"));
                state.WriteTo(output);
                await output.WriteAsync("\n"u8.ToArray(), ct);
                await output.FlushAsync(ct);
                return 0;
            }
            finally
            {
                await system.Terminate();
            }
        }
    }
}
