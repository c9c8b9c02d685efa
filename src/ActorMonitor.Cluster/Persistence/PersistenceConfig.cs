using ActorMonitor.Store;
using Akka.Configuration;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// The Akka.Persistence plugins for a store target: Akka.Persistence.Sql (journal and snapshot
/// store) on the same SQLite file or PostgreSQL database as the task rows, or the in-memory
/// plugins for <c>memory</c>.
/// </summary>
public static class PersistenceConfig
{
    public static Config For(StoreTarget target)
    {
        if (target.Kind == StoreKind.Memory)
            return ConfigurationFactory.ParseString("""
                akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
                """);

        var provider = target.Kind == StoreKind.Sqlite ? "SQLite.MS" : "PostgreSQL.15";
        // SQLite has one writer at a time: one journal writer avoids lock contention.
        var parallelism = target.Kind == StoreKind.Sqlite ? 1 : 3;
        var cs = Quote(target.ConnectionString);
        // The breakers retry after 2 s, not Akka's 30 s (journal) and 60 s (snapshots): once a
        // database outage opened one, the receiver's checkpoints waited that long after it ended.
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  connection-string = {{cs}}
                  provider-name = "{{provider}}"
                  auto-initialize = on
                  parallelism = {{parallelism}}
                  circuit-breaker.reset-timeout = 2s
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = {{cs}}
                  provider-name = "{{provider}}"
                  auto-initialize = on
                  circuit-breaker.reset-timeout = 2s
                }
              }
            }
            """);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
