using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>Answered with <see cref="LastCheckpoint"/> once the journal is recovered.</summary>
public sealed record GetLastCheckpoint
{
    public static readonly GetLastCheckpoint Instance = new();
}

public sealed record LastCheckpoint(ReceiverCheckpoint State, long SequenceNr);

/// <summary>Persist one checkpoint; answered with <see cref="CheckpointPersisted"/>.</summary>
public sealed record PersistCheckpoint(long Id, ReceiverCheckpoint State);

public sealed record CheckpointPersisted(long Id);

/// <summary>
/// The receiver's checkpoints in Akka.Persistence (journal + snapshot store): one event per
/// checkpoint; every <c>snapshotEvery</c> events a snapshot replaces the journal prefix, so
/// recovery reads one snapshot and a short tail. Persistence failures stop this actor, as
/// Akka.Persistence does; the receiver watches it and starts a new one.
/// </summary>
public sealed class CheckpointJournal : ReceivePersistentActor
{
    private readonly int _snapshotEvery;
    private ReceiverCheckpoint _last = ReceiverCheckpoint.Empty;

    public CheckpointJournal(string nodeName, int snapshotEvery)
    {
        PersistenceId = "receiver-" + nodeName;
        _snapshotEvery = Math.Max(1, snapshotEvery);

        Recover<SnapshotOffer>(o => _last = (ReceiverCheckpoint)o.Snapshot);
        Recover<ReceiverCheckpoint>(s => _last = s);

        Command<GetLastCheckpoint>(_ => Sender.Tell(new LastCheckpoint(_last, LastSequenceNr)));
        Command<PersistCheckpoint>(m =>
        {
            var replyTo = Sender;
            Persist(m.State, s =>
            {
                _last = s;
                replyTo.Tell(new CheckpointPersisted(m.Id));
                if (LastSequenceNr % _snapshotEvery == 0) SaveSnapshot(s);
            });
        });
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessages(s.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => Context.GetLogger().Warning("Saving a checkpoint snapshot failed: {0}", f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => Context.GetLogger().Warning("Compacting the checkpoint journal failed: {0}", f.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(string nodeName, int snapshotEvery) =>
        Akka.Actor.Props.Create(() => new CheckpointJournal(nodeName, snapshotEvery));
}
