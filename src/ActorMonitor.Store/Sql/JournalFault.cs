using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ActorMonitor.Store.Sql;

/// <summary>
/// A journal that cannot be opened or read, told in one line: which journal, the database's own
/// reason, and what to do about it.
/// </summary>
public static class JournalFault
{
    /// <summary>The line for <paramref name="error"/>, or null when it is not the store's.</summary>
    public static string? Describe(StoreTarget target, Exception error)
    {
        var ex = error is AggregateException aggregate ? aggregate.GetBaseException() : error;
        if (ex is JournalVersionException)
            return $"journal {target}: {ex.Message}; run that version, or start with another journal";
        if (ex is SqliteException sqlite)
        {
            var reason = Reason(sqlite);
            var advice = sqlite.SqliteErrorCode switch
            {
                26 or 11 => "the file is damaged or not an ActorMonitor journal: restore it from a backup, or move it away to start with an empty one",
                14 => Directory.Exists(target.Location)
                    ? "the path is a directory: give a file's path (sqlite:DIR/actormonitor.db)"
                    : "check that its directory exists and this user may write there",
                13 => "the disk is full: free space, then start again",
                8 or 23 => "this user may not write it: check its permissions and those of its directory",
                _ => "check the file, its disk and its permissions",
            };
            return $"journal {target}: {reason} (SQLite error {sqlite.SqliteErrorCode}); {advice}";
        }
        if (ex is DbException db)
            return $"journal {target}: {db.Message.TrimEnd('.')}; check that the database server is up and the connection string";
        return null;
    }

    // "SQLite Error 26: 'file is not a database'." → "file is not a database".
    private static string Reason(SqliteException ex)
    {
        var m = ex.Message;
        var open = m.IndexOf('\'');
        var close = m.LastIndexOf('\'');
        return open >= 0 && close > open ? m[(open + 1)..close] : m.TrimEnd('.');
    }
}
