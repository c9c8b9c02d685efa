using ActorMonitor.Celery.Durable;
using ActorMonitor.Store.Queries;
using ActorMonitor.Store.Sql;
using ActorMonitor.Tests.Shared;
using Microsoft.Data.Sqlite;

namespace ActorMonitor.Store.Tests;

/// <summary>
/// A full disk, made with SQLite's page limit (the file may not grow past it, as on a full disk):
/// the cause is told as SQLite gives it, and stays the cause while the fault lasts, even when
/// space comes back partly and SQLite, having rolled the transaction back itself, refuses the
/// rollback that follows.
/// </summary>
public sealed class JournalStorageTests : IDisposable
{
    private readonly SqliteJournalDir _journal = new();
    private const string DiskFull = SqliteJournalDir.DiskFull;

    private SqlStateStore NewStore() => _journal.NewStore();

    private long Pages() => _journal.Pages();

    private static TaskRecord BigTask(string uuid) =>
        TestRecords.Received(uuid, 10, $"\"name\": \"t\", \"args\": \"{new string('x', 60_000)}\"");

    [Fact]
    public void A_commit_on_a_full_disk_fails_with_the_disk_full_cause_not_the_refused_rollback()
    {
        var store = NewStore();
        store.MaxPages = Pages() + 2;
        var row = StoredRows.TaskRow(BigTask("t1"));
        var failed = Assert.ThrowsAny<SqliteException>(() => store.Commit(new StoreCommit([row], [], [])));
        Assert.Equal(DiskFull, failed.Message);

        store.MaxPages = null;
        store.Commit(new StoreCommit([row], [], []));
        Assert.Single(store.LoadTasks(["t1"]));
    }

    /// <summary>
    /// A real full disk (a 2 MB tmpfs, mounted for the test: it needs root, as this machine's test
    /// runs have): the commit fails at its WAL write, and SQLite's own rollback leaves the one the
    /// transaction's disposal tries refused; that refusal used to replace the cause.
    /// </summary>
    [Fact]
    public void On_a_really_full_disk_the_commit_fails_with_the_disk_full_cause_even_when_space_comes_back_partly()
    {
        var mount = Path.Combine(_journal.Dir, "small");
        Directory.CreateDirectory(mount);
        Run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount);
        try
        {
            var store = new SqlStateStore(StoreTarget.Parse("sqlite:" + Path.Combine(mount, "state.db")));
            store.Initialize();
            var filler = Path.Combine(mount, "filler");
            File.WriteAllBytes(filler, new byte[new DriveInfo(mount).AvailableFreeSpace - 40_000]);
            var failed = Assert.ThrowsAny<SqliteException>(() => store.Commit(new StoreCommit([StoredRows.TaskRow(BigTask("t1"))], [], [])));
            Assert.Equal(DiskFull, failed.Message);

            // Space back partly: still not enough for the commit, and still told as a full disk.
            File.Delete(filler);
            File.WriteAllBytes(filler, new byte[new DriveInfo(mount).AvailableFreeSpace - 90_000]);
            failed = Assert.ThrowsAny<SqliteException>(() => store.Commit(new StoreCommit([StoredRows.TaskRow(BigTask("t2"))], [], [])));
            Assert.Equal(DiskFull, failed.Message);

            File.Delete(filler);
            store.Commit(new StoreCommit([StoredRows.TaskRow(BigTask("t3"))], [], []));
            Assert.Single(store.LoadTasks(["t3"]));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Run("umount", mount);
        }
    }

    private static void Run(string file, params string[] args)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error}");
    }

    [Fact]
    public void The_wal_is_checkpointed_and_truncated_after_a_commit_on_its_cadence()
    {
        var store = NewStore();
        var wal = Path.Combine(_journal.Dir, "state.db-wal");
        store.WalTruncateEvery = TimeSpan.FromHours(1);
        store.Commit(new StoreCommit([StoredRows.TaskRow(BigTask("t1"))], [], []));
        Assert.True(new FileInfo(wal).Length > 60_000, "the commit is in the WAL");

        store.WalTruncateEvery = TimeSpan.Zero;
        store.Commit(new StoreCommit([StoredRows.TaskRow(BigTask("t2"))], [], []));
        Assert.Equal(0, new FileInfo(wal).Length);
        Assert.Equal(2, store.LoadTasks(["t1", "t2"]).Count);
    }

    /// <summary>
    /// The text index keeps no positions (a third of the size); one written before with them is
    /// made again at start, and searches, longer than a trigram too, still find exactly the tasks
    /// whose texts contain the text.
    /// </summary>
    [Fact]
    public void A_positional_text_index_is_rebuilt_without_positions_and_searches_stay_exact()
    {
        var store = NewStore();
        var rows = new[] { "alpha beta", "beta alpha", "alphabet" }.Select((text, i) =>
        {
            var record = TestRecords.Received("t" + i, 10 + i, $"\"name\": \"t\", \"args\": \"{text}\"");
            return StoredRows.TaskRow(record);
        }).ToList();
        store.Commit(new StoreCommit(rows, [], []));
        using (var c = new SqliteConnection($"Data Source={_journal.File};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            // A positional index is in journals written before schema versions only: this one becomes such a journal.
            cmd.CommandText = """
                DROP TABLE am_schema_versions;
                DROP TABLE am_task_texts;
                CREATE VIRTUAL TABLE am_task_texts USING fts5(args, kwargs, result, exception, content='am_tasks', content_rowid='rowid',
                  tokenize='trigram case_sensitive 1');
                INSERT INTO am_task_texts (am_task_texts) VALUES ('rebuild');
                """;
            cmd.ExecuteNonQuery();
        }

        var reopened = NewStore();
        using (var c = new SqliteConnection($"Data Source={_journal.File};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT sql FROM sqlite_master WHERE name = 'am_task_texts'";
            Assert.Contains("detail=none", (string)cmd.ExecuteScalar()!);
        }
        string[] Found(string search) =>
            [.. reopened.QueryTasks(new TaskQuery { Search = search, Sort = TaskSortField.Received, Descending = false }).Tasks.Select(t => t.Uuid)];
        Assert.Equal(["t0", "t1", "t2"], Found("alp"));
        Assert.Equal(["t0"], Found("alpha beta"));
        Assert.Equal(["t1"], Found("beta alpha"));
        Assert.Equal(["t2"], Found("alphabet"));
        Assert.Equal(3, reopened.QueryTasks(new TaskQuery { Search = "pha" }).Total);
        Assert.Equal(1, reopened.QueryTasks(new TaskQuery { Search = "alpha b" }).Total);
    }

    public void Dispose() => _journal.Dispose();
}
