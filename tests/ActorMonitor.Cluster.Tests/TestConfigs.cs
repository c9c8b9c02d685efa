using Akka.Configuration;

namespace ActorMonitor.Cluster.Tests;

public static class TestConfigs
{
    /// <summary>TestKit systems with the in-memory journal and snapshot store (Akka.Persistence.TestKit is not served).</summary>
    public static readonly Config InMemoryPersistence = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.actor.serializers.actormonitor = "ActorMonitor.Cluster.Receiver.CheckpointSerializer, ActorMonitor.Cluster"
        akka.actor.serialization-bindings { "ActorMonitor.Cluster.Receiver.ReceiverCheckpoint, ActorMonitor.Cluster" = actormonitor }
        akka.actor.serialize-messages = off
        """);
}
