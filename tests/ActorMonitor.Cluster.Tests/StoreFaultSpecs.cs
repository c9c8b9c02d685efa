using ActorMonitor.Celery.Durable;
using ActorMonitor.Cluster.Persistence;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// A full disk, made with SQLite's page limit (the file may not grow past it, as on a full disk):
/// the cause is told as SQLite gives it, and stays the cause while the fault lasts, even when
/// space comes back partly and SQLite, having rolled the transaction back itself, refuses the
/// rollback that follows.
/// </summary>
public sealed class StoreFaultSpecs : TestKit, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-full-").FullName;

    private SqlStateStore NewStore()
    {
        var store = new SqlStateStore(StoreTarget.Parse("sqlite:" + Path.Combine(_dir, "state.db")));
        store.Initialize();
        return store;
    }

    private long Pages()
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "state.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA page_count";
        return (long)cmd.ExecuteScalar()!;
    }

    private static TaskRecord BigTask(string uuid)
    {
        var record = new TaskRecord(uuid);
        record.Apply(TestEvents.Task("task-received", uuid, 10, $"\"name\": \"t\", \"args\": \"{new string('x', 60_000)}\""), 1);
        return record;
    }

    [Fact]
    public void A_commit_on_a_full_disk_fails_with_the_disk_full_cause_not_the_refused_rollback()
    {
        var store = NewStore();
        store.MaxPages = Pages() + 2;
        var row = StoredRows.TaskRow(BigTask("t1"));
        var failed = Assert.ThrowsAny<SqliteException>(() => store.Commit(new StoreCommit([row], [], [])));
        Assert.Equal("SQLite Error 13: 'database or disk is full'.", failed.Message);

        store.MaxPages = null;
        store.Commit(new StoreCommit([row], [], []));
        Assert.Single(store.LoadTasks(["t1"]));
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
        keeper.Tell(new EntityDirty(EntityKind.Task, "t1"), entity.Ref);
        keeper.Tell(new Checkpoint(1), receiver.Ref);
        keeper.Tell(StoredRows.Task(record, entity.ExpectMsg<CollectRow>().CycleId), entity.Ref);
        Assert.Equal("SQLite Error 13: 'database or disk is full'.", receiver.ExpectMsg<CheckpointFailed>().Reason);

        // Space comes back partly: the retries still fail, and the cause told is still the first.
        store.MaxPages = Pages() + 4;
        AwaitAssert(() =>
        {
            keeper.Tell(GetKeeperStats.Instance, receiver.Ref);
            Assert.True(receiver.ExpectMsg<KeeperStats>().FailedCommits >= 3);
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
        keeper.Tell(GetKeeperStats.Instance, receiver.Ref);
        var failing = receiver.ExpectMsg<KeeperStats>();
        Assert.True(failing.StoreFailing);
        Assert.Equal("SQLite Error 13: 'database or disk is full'.", failing.LastError);

        // Space enough: the next retry commits and the fault clears.
        store.MaxPages = null;
        AwaitAssert(() =>
        {
            keeper.Tell(GetKeeperStats.Instance, receiver.Ref);
            Assert.False(receiver.ExpectMsg<KeeperStats>().StoreFailing);
        }, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
        Assert.Single(store.LoadTasks(["t1"]));
    }

    public new void Dispose()
    {
        base.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }
}
