using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Relay;
using Akka.Actor;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// The answers and observations a node's entities hand its keeper, gathered for a few
/// milliseconds (the keeper's timer) into one <see cref="AppliedBatch"/> per receiver and one
/// <see cref="TasksObserved"/> for the metrics, instead of a message per event to each.
/// </summary>
public sealed class AnswerBatches
{
    private readonly Dictionary<IActorRef, List<EventsApplied>> _answers = new();
    private List<TaskObserved> _observed = [];

    public bool IsEmpty => _answers.Count == 0 && _observed.Count == 0;

    public void Add(EntityApplied m)
    {
        if (m.ReplyTo is { } to && m.Answer is { } answer)
        {
            if (!_answers.TryGetValue(to, out var list)) _answers[to] = list = [];
            list.Add(answer);
        }
        if (m.Observed is { } observed) _observed.Add(observed);
    }

    /// <summary>Sends what was gathered (observations dropped when the node has no metrics) and starts afresh.</summary>
    public void Send(IActorRef? metrics, IActorRef sender)
    {
        foreach (var (to, answers) in _answers) to.Tell(new AppliedBatch(answers), sender);
        _answers.Clear();
        if (_observed.Count == 0) return;
        metrics?.Tell(new TasksObserved(_observed), sender);
        _observed = [];
    }
}
