using Akka.Actor;
using Akka.Event;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// An actor that decides what is durable (the state keeper, the event receiver). Restarted, it
/// would not know what it held, and the next checkpoint would call messages durable that are not;
/// so after a failure it is never restarted: it says why, publishes <see cref="NodeFailed"/> (the
/// node acks nothing more and leaves), and from then on answers only through <see cref="Refuse"/>.
/// </summary>
public abstract class NeverRestartedActor(string name) : UntypedActor
{
    /// <summary>Why it failed ("the state keeper failed: …"), or null while it works.</summary>
    protected string? FailedWith { get; private set; }

    protected abstract void Handle(object message);

    /// <summary>What it still answers after a failure (checkpoints refused, stats).</summary>
    protected abstract void Refuse(object message);

    protected sealed override void OnReceive(object message)
    {
        if (FailedWith is not null)
        {
            Refuse(message);
            return;
        }
        try
        {
            Handle(message);
        }
        catch (Exception ex)
        {
            FailedWith = $"the {name} failed: {ex.Message}";
            Context.GetLogger().Error(ex, "The {0} failed handling {1}; this node acks nothing more and leaves: the broker gives its unacked messages to the other nodes or to its restart",
                name, message.GetType().Name);
            Context.System.EventStream.Publish(new NodeFailed(FailedWith));
        }
    }
}

/// <summary>Published on the event stream when a <see cref="NeverRestartedActor"/> failed: the node acks nothing more and leaves.</summary>
public sealed record NodeFailed(string Reason);
