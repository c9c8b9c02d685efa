using ActorMonitor.Celery.Dispatch;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Rabbit;
using Akka.Configuration;

namespace ActorMonitor.Host.Commands;

/// <summary>actormonitor simulate: simulated workers and a client on the real broker, through our EventDispatcher.</summary>
public static class SimulateCommand
{
    public static async Task<int> RunAsync(string hocon, int workers, double rate, double? duration, double failureRate, CancellationToken ct)
    {
        if (workers < 1 || rate <= 0 || failureRate is < 0 or > 1 || duration is <= 0)
            return CliError.Fail("--workers must be at least 1, --rate and --duration positive, --failure-rate between 0 and 1");
        EventQueueSettings settings;
        try
        {
            settings = EventQueueConfig.Read(MonitorConfig.With(hocon));
        }
        catch (Exception ex) when (ex is BrokerConfigurationException or ConfigurationException or FormatException)
        {
            return CliError.Fail("configuration: " + ex.Message);
        }
        if (EventDispatcher.IsDisabledTransport(settings.BrokerUrl))
            return CliError.Fail($"the broker {settings.BrokerUrl} cannot carry events (Celery disables events on SQL transports)");

        // Fail fast, with one line, when the broker is not there.
        try
        {
            await using var probe = await BrokerAddress.Parse(settings.BrokerUrl).CreateFactory("actormonitor simulate").CreateConnectionAsync(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return CliError.Fail($"cannot reach broker {settings.BrokerUrl}: {ex.GetBaseException().Message}");
        }

        var transports = new List<RabbitEventTransport>();
        var simulator = new FleetSimulator(new SimulationOptions
        {
            Workers = workers, TasksPerSecond = rate, Duration = duration is { } d ? TimeSpan.FromSeconds(d) : null, FailureRate = failureRate,
        }, host =>
        {
            var t = new RabbitEventTransport(settings.BrokerUrl, host, settings.EventExchange);
            lock (transports) transports.Add(t);
            return t;
        }, warn: CliLog.Warning);
        CliLog.Info($"simulating {workers} workers at {rate} tasks/s on {settings.BrokerUrl}{(duration is null ? "; Ctrl-C stops" : $" for {duration} s")}");
        SimulationSummary summary;
        using (var progress = ProgressLine.OnTerminal("simulate", "events", duration: duration is { } seconds ? TimeSpan.FromSeconds(seconds) : null))
        {
            // The simulator counts its events itself; the line reads them at its own pace.
            using var reading = new Timer(_ => progress.Report(simulator.EventsSent), null, TimeSpan.Zero, ProgressLine.Refresh);
            summary = await simulator.RunAsync(ct);
            progress.Report(summary.Events);
        }
        foreach (var t in transports) await t.DisposeAsync();
        CliLog.Info($"{summary.Tasks} tasks ({summary.Failed} failed), {summary.Events} events sent");
        return 0;
    }
}
