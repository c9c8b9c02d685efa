using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>
/// Akka's log sink for this project: standard error, so that commands whose output is data
/// (replay, state) keep standard output clean.
/// </summary>
public sealed class StderrLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public StderrLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => Console.Error.WriteLine($"[{e.LogLevel().ToString().Replace("Level", "").ToUpperInvariant()}][{e.Timestamp:O}][{e.LogSource}] {e.Message}{(e.Cause is null ? "" : " " + e.Cause.Message)}"));
    }
}
