using ActorMonitor.Store.Queries;
using ActorMonitor.Store.Sql;
using Microsoft.Data.Sqlite;

namespace ActorMonitor.Store.Tests;

/// <summary>
/// The journal's schema versions: a new journal gets every migration; one written before the
/// version table opens, gets its version recorded and keeps its rows; from then on only the
/// migrations above its version run; one of a newer version is refused with a clear error.
/// </summary>
public sealed class SchemaTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-schema-").FullName;

    private string File => Path.Combine(_dir, "state.db");

    private SqlStateStore Store() => new(StoreTarget.Parse("sqlite:" + File));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static IEnumerable<(int, string)> All(string how) => Schema.Migrations.Select(m => (m.Version, how));

    [Fact]
    public void A_new_journal_gets_every_migration_once()
    {
        using var store = Store();
        store.Initialize();
        Assert.Equal(All("applied"), Schema.Versions(store.Dialect));
        Assert.Equal(Schema.Unversioned, Schema.Migrations.Max(m => m.Version));
        var objects = UnversionedJournal.Objects(File);

        store.Initialize();
        Assert.Equal(All("applied"), Schema.Versions(store.Dialect));
        Assert.Equal(objects, UnversionedJournal.Objects(File));
    }

    [Fact]
    public void A_journal_written_before_schema_versions_opens_gets_its_version_recorded_and_keeps_its_rows()
    {
        UnversionedJournal.Create(File);
        var tasks = new[] { ("t1", "alpha", "SUCCESS"), ("t2", "beta", "FAILURE"), ("t3", "alphabet", "SUCCESS") }
            .Select((t, i) => StoredRows.TaskRow(TestRecords.Received(t.Item1, 10 + i, $"\"name\": \"job\", \"args\": \"{t.Item2}\"")) with { State = t.Item3, New = true })
            .ToList();
        var receiver = new ReceiverRow("node-a", 7, 1, 2, 5, [9, 9]);
        using (var before = Store()) // the rows as that code wrote them: the same statements, no start-up
        {
            before.RegisterWriter("node-a#1", "node-a");
            before.Commit(new StoreCommit(tasks, [new WorkerRow("w1", [1, 2, 3], 4)], ["job"]) { Receivers = [receiver], Writer = "node-a#1" });
            before.Fence("node-a#1", "node-a", "node-b#2");
        }
        var objects = UnversionedJournal.Objects(File);

        using var store = Store();
        store.Initialize();

        Assert.Equal(All("found"), Schema.Versions(store.Dialect));
        Assert.Equal(objects.Append("am_schema_versions").Order(StringComparer.Ordinal), UnversionedJournal.Objects(File));
        Assert.Equal(["t1", "t2", "t3"], store.LoadTasks(["t1", "t2", "t3"]).Keys.Order());
        Assert.Equal([1, 2, 3], store.LoadWorkers(["w1"])["w1"]);
        Assert.Equal(receiver, Assert.Single(store.Receivers()), new ReceiverRowComparer());
        Assert.Equal(["job"], store.TaskTypes());
        var counts = store.CountTasks(TaskQuery.All);
        Assert.Equal(3, counts.Total);
        Assert.Equal([("FAILURE", 1L), ("SUCCESS", 2L)], counts.ByState.Select(kv => (kv.Key, kv.Value)));
        Assert.Equal(["t1", "t3"], store.QueryTasks(new TaskQuery { Search = "alpha", Sort = TaskSortField.Received, Descending = false }).Tasks.Select(t => t.Uuid));
        Assert.Throws<WriterFencedException>(() => store.Commit(new StoreCommit([], [new WorkerRow("w2", [1], 1)], []) { Writer = "node-a#1" }));

        store.Initialize(); // recorded once
        Assert.Equal(All("found"), Schema.Versions(store.Dialect));
    }

    [Fact]
    public void Once_its_version_is_recorded_only_the_migrations_above_it_run()
    {
        UnversionedJournal.Create(File);
        using var store = Store();
        store.Initialize();

        // The migrations it has would fail if they ran again; the one above them must run.
        var next = new Schema.Migration(Schema.Unversioned + 1, "a table of the next version", s => s.Execute("CREATE TABLE am_next (id INTEGER)"));
        var migrations = Schema.Migrations
            .Select(m => m with { Apply = _ => throw new InvalidOperationException($"migration {m.Version} ran again") })
            .Append(next).ToList();
        Schema.Migrate(store.Dialect, migrations);

        Assert.Equal(All("found").Append((next.Version, "applied")), Schema.Versions(store.Dialect));
        Assert.Contains("am_next", UnversionedJournal.Objects(File));
        Schema.Migrate(store.Dialect, migrations); // nothing left to apply
    }

    [Fact]
    public void A_journal_of_a_newer_version_is_refused_with_a_clear_error()
    {
        using (var store = Store()) store.Initialize();
        using (var c = new SqliteConnection($"Data Source={File};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO am_schema_versions (version, name, applied, how) VALUES (99, 'from the future', 0, 'applied')";
            cmd.ExecuteNonQuery();
        }

        using var newer = Store();
        var refused = Assert.Throws<JournalVersionException>(newer.Initialize);
        Assert.Equal(99, refused.Version);
        Assert.Equal($"journal sqlite:{File}: its schema is at version 99, written by a newer ActorMonitor; this one knows versions up to {Schema.Unversioned}; "
            + "run that version, or start with another journal", JournalFault.Describe(newer.Target, refused));
    }

    private sealed class ReceiverRowComparer : IEqualityComparer<ReceiverRow>
    {
        public bool Equals(ReceiverRow? x, ReceiverRow? y) =>
            x!.NodeName == y!.NodeName && x.Messages == y.Messages && x.RejectedMessages == y.RejectedMessages && x.OtherEvents == y.OtherEvents
            && x.Cut == y.Cut && x.Checkpoint.SequenceEqual(y.Checkpoint);

        public int GetHashCode(ReceiverRow r) => r.NodeName.GetHashCode();
    }
}
