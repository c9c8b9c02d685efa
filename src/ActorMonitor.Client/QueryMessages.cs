using ActorMonitor.Celery.State;

namespace ActorMonitor.Client;

/// <summary>Any message routed to the task entity of <see cref="Uuid"/>.</summary>
public interface ITaskEntityMessage
{
    string Uuid { get; }
}

/// <summary>Any message routed to the worker entity of <see cref="Hostname"/>.</summary>
public interface IWorkerEntityMessage
{
    string Hostname { get; }
}

/// <summary>Ask for a task; answered with <see cref="TaskReply"/>.</summary>
public sealed record GetTask(string Uuid) : ITaskEntityMessage;

/// <summary><see cref="Task"/> is null when no event for the uuid was ever applied.</summary>
public sealed record TaskReply(string Uuid, TaskSnapshot? Task);

/// <summary>Ask for a worker, "alive" judged at <paramref name="AsOf"/> (epoch seconds); answered with <see cref="WorkerReply"/>.</summary>
public sealed record GetWorker(string Hostname, double AsOf) : IWorkerEntityMessage;

/// <summary><see cref="Worker"/> is null when Celery's State would not hold this hostname.</summary>
public sealed record WorkerReply(string Hostname, WorkerSnapshot? Worker);
