using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Ingest;
using Akka.Event;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>A node as the ingest port a transport feeds (<see cref="IEventIngest"/>); its log lines under <paramref name="logSource"/>.</summary>
public sealed class NodeIngest(MonitorNode node, string logSource) : IEventIngest
{
    public EventDecoder CreateDecoder() => node.CreateDecoder();

    public IIngestFeed OpenFeed(Action<IReadOnlyList<long>> onDurable) => node.CreateIngestClient(onDurable: onDurable);

    public Task CheckpointAsync(TimeSpan timeout) => node.Queries.CheckpointAsync(timeout);

    public CancellationToken Downed => node.Downed;

    public IIngestLog Log { get; } = new AkkaLog(Logging.GetLogger(node.System, logSource));

    private sealed class AkkaLog(ILoggingAdapter log) : IIngestLog
    {
        public void Info(string format, params object?[] args) => log.Info(format, args!);
        public void Warning(string format, params object?[] args) => log.Warning(format, args!);
        public void Error(string format, params object?[] args) => log.Error(format, args!);
    }
}
