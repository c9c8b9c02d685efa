using ActorMonitor.Store;
using ActorMonitor.Store.Sql;
using Microsoft.Data.Sqlite;

namespace ActorMonitor.Tests.Shared;

/// <summary>
/// A SQLite journal in a temporary directory of its own, for the tests of a full disk (the store's
/// page limit, or a small tmpfs inside <see cref="Dir"/>); removed on disposal.
/// </summary>
public sealed class SqliteJournalDir : IDisposable
{
    /// <summary>SQLite's message for a full disk, as the store reports it.</summary>
    public const string DiskFull = "SQLite Error 13: 'database or disk is full'.";

    public string Dir { get; } = Directory.CreateTempSubdirectory("am-full-").FullName;

    public string File => Path.Combine(Dir, "state.db");

    public SqlStateStore NewStore()
    {
        var store = new SqlStateStore(StoreTarget.Parse("sqlite:" + File));
        store.Initialize();
        return store;
    }

    /// <summary>The journal's size in pages, for a page limit just above it.</summary>
    public long Pages()
    {
        using var c = new SqliteConnection($"Data Source={File};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA page_count";
        return (long)cmd.ExecuteScalar()!;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Dir, recursive: true);
    }
}
