using System.Runtime.InteropServices;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;
using ActorMonitor.Rabbit;
using ActorMonitor.Store;
using ActorMonitor.Store.Sql;
using Akka;
using Akka.Actor;
using Akka.Configuration;

namespace ActorMonitor.Host.Commands;

/// <summary>
/// actormonitor run: one node of the monitor. Joins (or forms) the cluster, hosts its part of the
/// shards, consumes the event queue, serves HTTP. SIGINT/SIGTERM: stop consuming (unacked
/// messages go back to the queue), leave the cluster gracefully, exit 0.
/// </summary>
public static class RunCommand
{
    public static async Task<int> RunAsync(string hoconOverrides, CancellationToken ct)
    {
        Config config;
        EventQueueSettings queue;
        string http;
        HttpSecuritySettings security;
        ControlSettings control;
        ulong? heapLimit;
        TimeSpan? queueSampling;
        try
        {
            config = MonitorConfig.With(hoconOverrides);
            queue = EventQueueConfig.Read(config);
            MonitorSettings.FromConfig(config); // refuse a bad journal or limit before starting anything
            http = config.GetString("actormonitor.http.address", "127.0.0.1:5555");
            // Refused before anything starts: an endpoint others can reach and no credentials.
            security = HttpSecuritySettings.Load(config, http);
            control = ControlSettings.Load(config);
            queueSampling = QueueSampler.Interval(config);
            heapLimit = ManagedHeap.Apply(config);
        }
        catch (HttpSecurityException ex)
        {
            return CliError.Fail(ex.Message);
        }
        catch (Exception ex) when (ex is BrokerConfigurationException or ConfigurationException or FormatException)
        {
            return CliError.Fail("configuration: " + ex.Message);
        }

        // A journal that cannot be opened or is damaged: one line before anything starts.
        var journal = StoreTarget.Parse(config.GetString("actormonitor.journal", "memory"));
        if (journal.Kind == StoreKind.Sqlite)
        {
            try { new SqlStateStore(journal).Initialize(); }
            catch (Exception ex) when (JournalFault.Describe(journal, ex) is { } line) { return CliError.Fail(line); }
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // Cancelling runs the shutdown's continuations; not on the signal handler's thread.
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _ = Task.Run(stop.Cancel); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; _ = Task.Run(stop.Cancel); });

        var system = await MonitorSystem.StartAsync(config);
        try
        {
            MonitorNode node;
            try
            {
                node = await MonitorNode.StartAsync(system);
            }
            catch (Exception ex) when (JournalFault.Describe(journal, ex) is { } line)
            {
                // Damage found past the start-up check (an index read later): the line comes last, after the system stopped.
                await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
                return CliError.Fail(line);
            }
            var consumer = new CeleryEventConsumer(queue, new NodeIngest(node, "rabbit"));
            await using var celery = new CeleryControl(queue.BrokerUrl, queue.ControlExchange);
            var inspector = new WorkerInspector(celery, control.InspectTimeout);
            var broker = new BrokerControl(celery, inspector, control);
            Microsoft.AspNetCore.Builder.WebApplication web;
            try
            {
                web = await HttpEndpoint.StartAsync(node, consumer.Status, http, stop.Token, broker);
            }
            catch (IOException ex)
            {
                return CliError.Fail($"cannot serve HTTP on {http}: {ex.GetBaseException().Message}");
            }
            CliLog.Info($"node {Akka.Cluster.Cluster.Get(system).SelfAddress} up; HTTP on http://{http} ({security}); queue {consumer.Status.Queue}; journal {node.Settings.Journal}; managed heap limit {ManagedHeap.Describe(heapLimit)}");

            // celery-exporter's queue gauges on /metrics (each sample replaces the last).
            var sampling = queueSampling is { } every
                ? Task.Run(() => new QueueSampler(celery, inspector, node.Metrics).RunAsync(every, stop.Token))
                : Task.CompletedTask;
            var served = ServeAsync(node, consumer, web, stop.Token);
            // A leave or down decided elsewhere (`cmd cluster leave`, the split-brain resolver) runs
            // the coordinated shutdown first: its first phase does what SIGTERM does, so the process
            // exits instead of consuming into a terminated system.
            CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "stop-consuming", async () =>
            {
                var reason = CoordinatedShutdown.Get(system).ShutdownReason;
                // Downed (the split-brain resolver, or another node): the shards may have moved
                // already, so no drain and no last checkpoint; its unacked messages go back.
                if (reason is CoordinatedShutdown.ClusterDowningReason) node.MarkDowned("the cluster downed this node");
                else if (reason is not CoordinatedShutdown.ClrExitReason)
                    CliLog.Info($"the cluster stops this node ({reason?.GetType().Name}): stopping consumption, last checkpoint");
                try { stop.Cancel(); } catch (ObjectDisposedException) { }
                try { await served; } catch (Exception) { /* reported by the command itself */ }
                return Done.Instance;
            });
            try
            {
                await served;
            }
            finally
            {
                // The sampler ends with stop, before the broker connection is disposed.
                try { stop.Cancel(); } catch (ObjectDisposedException) { }
                await sampling;
            }
            return 0;
        }
        finally
        {
            // Leaves the cluster gracefully: shards hand off, then the system terminates.
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance);
        }
    }

    /// <summary>Consumes until stopped, then stops serving and writes the last checkpoint.</summary>
    private static async Task ServeAsync(MonitorNode node, CeleryEventConsumer consumer, Microsoft.AspNetCore.Builder.WebApplication web, CancellationToken stop)
    {
        await consumer.RunAsync(stop);
        await web.StopAsync(CancellationToken.None);
        // Downed: the shards may have moved and the store refuses this node's rows.
        if (node.Downed.IsCancellationRequested) return;
        // Everything applied is written; messages whose acks could not be sent any more are
        // redelivered to the next consumer and recognised there.
        try { await node.Queries.CheckpointAsync(TimeSpan.FromSeconds(30)); }
        catch (Exception ex) { CliLog.Error($"final checkpoint failed: {ex.GetBaseException().Message}"); }
    }
}
