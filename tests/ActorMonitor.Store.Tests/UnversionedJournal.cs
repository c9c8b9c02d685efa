using Microsoft.Data.Sqlite;

namespace ActorMonitor.Store.Tests;

/// <summary>
/// A SQLite journal as the code before schema versions created it: the tables, indexes and text
/// index its start-up wrote (its DDL, verbatim, with SQLite's types), and no am_schema_versions.
/// </summary>
internal static class UnversionedJournal
{
    public const string Ddl = """
        PRAGMA journal_mode=WAL;
        CREATE TABLE am_tasks (
          uuid TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, event_count INTEGER NOT NULL, received_count INTEGER NOT NULL,
          name TEXT, state TEXT, worker TEXT, received REAL, started REAL, succeeded REAL, failed REAL, timestamp REAL,
          runtime REAL, heap_clock INTEGER, heap_origin TEXT, args TEXT, kwargs TEXT, result TEXT, exception TEXT,
          data BLOB NOT NULL);
        CREATE INDEX am_tasks_last_seq ON am_tasks (last_seq);
        CREATE TABLE am_workers (hostname TEXT PRIMARY KEY, event_count INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE TABLE am_task_types (name TEXT PRIMARY KEY);
        CREATE TABLE am_task_counts (state TEXT NOT NULL, name TEXT NOT NULL, worker TEXT NOT NULL, n INTEGER NOT NULL,
          PRIMARY KEY (state, name, worker));
        CREATE TABLE am_writers (
          incarnation TEXT PRIMARY KEY, address TEXT NOT NULL, registered REAL NOT NULL, commits INTEGER NOT NULL,
          fenced_at REAL, fenced_by TEXT);
        CREATE TABLE am_receivers (
          node_name TEXT PRIMARY KEY, messages INTEGER NOT NULL, rejected_messages INTEGER NOT NULL, other_events INTEGER NOT NULL,
          cut INTEGER NOT NULL, checkpoint BLOB NOT NULL);
        CREATE INDEX am_tasks_q_state ON am_tasks (state, received) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_name ON am_tasks (name, received) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_worker ON am_tasks (worker, received) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_received ON am_tasks (received) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_started ON am_tasks (started) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_succeeded ON am_tasks (succeeded) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_failed ON am_tasks (failed) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_timestamp ON am_tasks (timestamp) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_heap ON am_tasks (heap_clock, heap_origin, last_seq) WHERE event_count > 0;
        CREATE INDEX am_tasks_q_state_started ON am_tasks (state, started, heap_clock, heap_origin, last_seq) WHERE event_count > 0;
        CREATE VIRTUAL TABLE am_task_texts USING fts5(args, kwargs, result, exception, content='am_tasks', content_rowid='rowid',
          tokenize='trigram case_sensitive 1', detail=none);
        CREATE TRIGGER am_tasks_texts_delete AFTER DELETE ON am_tasks BEGIN
          INSERT INTO am_task_texts (am_task_texts, rowid, args, kwargs, result, exception) VALUES ('delete', old.rowid, old.args, old.kwargs, old.result, old.exception);
        END;
        """;

    /// <summary>Creates the journal's file at <paramref name="file"/>.</summary>
    public static void Create(string file)
    {
        using var c = new SqliteConnection($"Data Source={file};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = Ddl;
        cmd.ExecuteNonQuery();
    }

    /// <summary>The names of the journal's tables, indexes and triggers.</summary>
    public static IReadOnlyList<string> Objects(string file)
    {
        using var c = new SqliteConnection($"Data Source={file};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name";
        using var r = cmd.ExecuteReader();
        var names = new List<string>();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    }
}
