using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Store;
using ActorMonitor.Store.Sql;
using ActorMonitor.Tests.Shared;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// The keeper on a full disk (SQLite's page limit, as in the store's JournalStorageTests): it
/// reports the store's first cause while the fault lasts, and clears it once a retry commits.
/// </summary>
public sealed class KeeperStorageFaultTests : TestKit, IDisposable
{
    private readonly SqliteJournalDir _journal = new();
    private const string DiskFull = SqliteJournalDir.DiskFull;

    private SqlStateStore NewStore() => _journal.NewStore();

    private long Pages() => _journal.Pages();

    private static TaskRecord BigTask(string uuid)
    {
        var record = new TaskRecord(uuid);
        record.Apply(TestEvents.Task("task-received", uuid, 10, $"\"name\": \"t\", \"args\": \"{new string('x', 60_000)}\""), 1);
        return record;
    }

    [Fact]
    public void The_keeper_reports_the_first_cause_until_the_fault_clears()
    {
        var store = NewStore();
        store.MaxPages = Pages() + 2;
        var keeper = Sys.ActorOf(StateKeeper.Props(store, 100, 100, []));
        var entity = CreateTestProbe();
        var receiver = CreateTestProbe();
        keeper.Tell(new LoadEntity(EntityKind.Task, "t1"), entity.Ref);
        entity.ExpectMsg<RowLoaded>();
        var record = BigTask("t1");
        keeper.Tell(new EntityApplied(EntityKind.Task, "t1", true), entity.Ref);
        keeper.Tell(new Checkpoint(1), receiver.Ref);
        keeper.Tell(EntityRows.Task(record, entity.ExpectMsg<CollectRow>().CycleId), entity.Ref);
        Assert.Equal(DiskFull, receiver.ExpectMsg<CheckpointFailed>().Reason);

        // While the fault lasts the retries meet another error (here the file is gone): the cause told stays the first.
        var moved = _journal.Dir + "-moved";
        Directory.Move(_journal.Dir, moved);
        SqliteConnection.ClearAllPools();
        try
        {
            var before = Stats(keeper, receiver).FailedCommits;
            AwaitAssert(() => Assert.True(Stats(keeper, receiver).FailedCommits >= before + 2), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
            var failing = Stats(keeper, receiver);
            Assert.True(failing.StoreFailing);
            Assert.Equal(DiskFull, failing.LastError);
        }
        finally
        {
            Directory.Move(moved, _journal.Dir);
        }

        // Space enough: the next retry commits and the fault clears.
        store.MaxPages = null;
        SqliteConnection.ClearAllPools();
        AwaitAssert(() => Assert.False(Stats(keeper, receiver).StoreFailing), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
        Assert.Single(store.LoadTasks(["t1"]));
    }

    private static KeeperStats Stats(Akka.Actor.IActorRef keeper, Akka.TestKit.TestProbe probe)
    {
        keeper.Tell(GetKeeperStats.Instance, probe.Ref);
        return probe.ExpectMsg<KeeperStats>();
    }

    public new void Dispose()
    {
        base.Dispose();
        _journal.Dispose();
    }
}
