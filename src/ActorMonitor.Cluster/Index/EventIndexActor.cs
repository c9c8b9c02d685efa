using ActorMonitor.Celery.State;
using Akka.Actor;

namespace ActorMonitor.Cluster.Index;

/// <summary>Index entries of one broker message, in receiver order.</summary>
public sealed record IndexEvents(IReadOnlyList<IndexEntry> Entries);

/// <summary>Tells <paramref name="Reply"/> to <paramref name="ReplyTo"/> once everything sent before it is indexed.</summary>
public sealed record FlushIndex(IActorRef ReplyTo, object Reply);

/// <summary>Ask for the cluster-wide figures; answered with <see cref="IndexSummary"/>.</summary>
public sealed record GetIndexSummary(int? TasksByTimeLimit = null)
{
    public static readonly GetIndexSummary All = new();
}

public sealed record IndexSummary(
    long EventCount,
    long TaskCount,
    IReadOnlyList<string> TaskTypes,
    IReadOnlyList<string> WorkerHostnames,
    IReadOnlyList<string> TasksByTime);

/// <summary>
/// Holds the <see cref="EventIndex"/>: event_count, task_count, task_types, tasks_by_time and
/// the worker hostnames, fed by the receiver so that no query has to ask every task entity.
/// </summary>
public sealed class EventIndexActor : ReceiveActor
{
    private readonly EventIndex _index;

    public EventIndexActor(EventIndex index)
    {
        _index = index;
        Receive<IndexEvents>(m =>
        {
            foreach (var e in m.Entries) _index.Apply(e);
        });
        Receive<FlushIndex>(m => m.ReplyTo.Tell(m.Reply));
        Receive<GetIndexSummary>(m => Sender.Tell(new IndexSummary(
            _index.EventCount,
            _index.TaskCount,
            _index.TaskTypes.ToList(),
            _index.WorkerHostnames.ToList(),
            _index.Timeline.TasksByTime(m.TasksByTimeLimit).ToList())));
    }

    public static Props Props(EventIndex index) => Akka.Actor.Props.Create(() => new EventIndexActor(index));
}
