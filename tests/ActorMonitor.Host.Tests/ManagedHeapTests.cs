using ActorMonitor.Cluster.Hosting;
using Akka.Configuration;

namespace ActorMonitor.Host.Tests;

public class ManagedHeapTests
{
    private static ulong? Limit(string hocon) => ManagedHeap.LimitFor(MonitorConfig.With(hocon));

    [Fact]
    public void Auto_follows_the_entity_limits_and_the_prefetch_on_a_persistent_journal()
    {
        const ulong mb = 1 << 20, kb = 1 << 10;
        Assert.Equal(128 * mb + 15_000 * 8 * kb + 10_000 * 2 * kb, Limit("actormonitor.journal = \"sqlite:x.db\""));
        Assert.Equal(128 * mb + 101_000 * 8 * kb + 500 * 2 * kb, Limit(
            "actormonitor.journal = \"postgres:Host=h\"\nactormonitor.state.max-tasks-in-memory = 100000\nactormonitor.state.max-workers-in-memory = 1000\nactormonitor.broker.prefetch = 500"));
    }

    [Fact]
    public void No_limit_with_the_memory_journal_or_when_off()
    {
        Assert.Null(Limit("actormonitor.journal = memory"));
        Assert.Null(Limit("actormonitor.journal = \"sqlite:x.db\"\nactormonitor.memory.gc-heap-limit = off"));
    }

    [Fact]
    public void A_size_is_taken_as_given_and_anything_else_is_refused()
    {
        Assert.Equal(512UL << 20, Limit("actormonitor.journal = memory\nactormonitor.memory.gc-heap-limit = 512MiB"));
        Assert.Equal(256UL << 20, Limit("actormonitor.memory.gc-heap-limit = \"256MiB\"")); // as --gc-heap-limit gives it
        Assert.Contains("not 'lots'", Assert.Throws<ConfigurationException>(() => Limit("actormonitor.memory.gc-heap-limit = lots")).Message);
        Assert.Throws<ConfigurationException>(() => Limit("actormonitor.memory.gc-heap-limit = 0"));
    }
}
