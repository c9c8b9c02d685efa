using ActorMonitor.Cluster.Persistence;
using Akka.Actor;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// A keeper for entity tests: every entity starts new, and each answer an entity hands it goes on
/// to its receiver at once, one by one (the real keeper batches them).
/// </summary>
public sealed class AnsweringKeeper : ReceiveActor
{
    public AnsweringKeeper()
    {
        Receive<LoadEntity>(m => Sender.Tell(new RowLoaded(m.Id, null)));
        Receive<EntityApplied>(m =>
        {
            if (m.ReplyTo is { } to && m.Answer is { } answer) to.Tell(answer);
        });
        ReceiveAny(_ => { });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new AnsweringKeeper());
}
