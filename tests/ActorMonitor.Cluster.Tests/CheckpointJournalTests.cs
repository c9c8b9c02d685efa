using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Receiver;
using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit.Xunit2;

namespace ActorMonitor.Cluster.Tests;

public class CheckpointJournalTests() : TestKit(TestConfigs.InMemoryPersistence)
{
    private static ReceiverCheckpoint State(long n) => ReceiverCheckpoint.Empty with
    {
        Messages = n, Clock = 100 + n, Seq = 10 * n, LastLocalReceived = 1000.5 + n,
        RejectionsByCause = new() { [RejectionCause.NotJson] = n },
        AckedBodyHashes = [(ulong)n, ulong.MaxValue - (ulong)n],
    };

    /// <summary>
    /// A database outage opens the journal's and the snapshot store's circuit breakers; with Akka's
    /// defaults (30 s and 60 s) the receiver's checkpoints waited that long after the database came
    /// back (the chaos run's PostgreSQL restarts took 48 s to recover instead of 8).
    /// </summary>
    [Theory]
    [InlineData("sqlite:checkpoints.db")]
    [InlineData("postgres:Host=127.0.0.1;Port=5432;Database=actormonitor")]
    public void The_journal_and_snapshot_breakers_try_again_two_seconds_after_they_open(string journal)
    {
        var config = ActorMonitor.Cluster.Persistence.PersistenceConfig.For(ActorMonitor.Store.StoreTarget.Parse(journal));
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.persistence.journal.sql.circuit-breaker.reset-timeout"));
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.persistence.snapshot-store.sql.circuit-breaker.reset-timeout"));
    }

    [Fact]
    public void Recovers_the_last_checkpoint_from_a_snapshot_and_the_journal_tail()
    {
        var journal = Sys.ActorOf(CheckpointJournal.Props("n1", snapshotEvery: 2));
        for (var i = 1; i <= 5; i++)
        {
            journal.Tell(new PersistCheckpoint(i, State(i)));
            Assert.Equal(i, ExpectMsg<CheckpointPersisted>().Id);
        }
        Watch(journal);
        Sys.Stop(journal);
        ExpectTerminated(journal);

        // A snapshot was taken at sequence number 4 and the journal before it deleted.
        var snapshots = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        AwaitAssert(() =>
        {
            snapshots.Tell(new LoadSnapshot("receiver-n1", SnapshotSelectionCriteria.Latest, long.MaxValue), TestActor);
            var loaded = ExpectMsg<LoadSnapshotResult>();
            Assert.Equal(4, loaded.Snapshot!.Metadata.SequenceNr);
            Assert.Equal(State(4), (ReceiverCheckpoint)loaded.Snapshot.Snapshot, new CheckpointComparer());
        });

        var recovered = Sys.ActorOf(CheckpointJournal.Props("n1", snapshotEvery: 2));
        recovered.Tell(GetLastCheckpoint.Instance);
        var last = ExpectMsg<LastCheckpoint>();
        Assert.Equal(5, last.SequenceNr);
        Assert.Equal(State(5), last.State, new CheckpointComparer());
    }

    [Fact]
    public void The_serializer_round_trips_a_checkpoint()
    {
        var serializer = new CheckpointSerializer((ExtendedActorSystem)Sys);
        var bytes = serializer.ToBinary(State(3));
        var back = (ReceiverCheckpoint)serializer.FromBinary(bytes, serializer.Manifest(State(3)));
        Assert.Equal(State(3), back, new CheckpointComparer());
    }

    private sealed class CheckpointComparer : IEqualityComparer<ReceiverCheckpoint>
    {
        public bool Equals(ReceiverCheckpoint? a, ReceiverCheckpoint? b) =>
            a is not null && b is not null &&
            a with { RejectionsByCause = null!, AckedBodyHashes = null!, PreviousAckedBodyHashes = null! } ==
            b with { RejectionsByCause = null!, AckedBodyHashes = null!, PreviousAckedBodyHashes = null! } &&
            a.RejectionsByCause.OrderBy(kv => kv.Key).SequenceEqual(b.RejectionsByCause.OrderBy(kv => kv.Key)) &&
            a.AckedBodyHashes.SequenceEqual(b.AckedBodyHashes) && a.PreviousAckedBodyHashes.SequenceEqual(b.PreviousAckedBodyHashes);

        public int GetHashCode(ReceiverCheckpoint obj) => obj.Messages.GetHashCode();
    }
}
