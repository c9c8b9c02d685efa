using Akka.Cluster.Sharding;
using Akka.Configuration;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>Loads hocon/actormonitor.conf (embedded) under any overrides.</summary>
public static class MonitorConfig
{
    public static Config Default { get; } = Load();

    private static Config Load()
    {
        using var stream = typeof(MonitorConfig).Assembly.GetManifestResourceStream("actormonitor.conf")
            ?? throw new InvalidOperationException("actormonitor.conf is not embedded");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary><paramref name="overrides"/> (HOCON text) win over the defaults.</summary>
    public static Config With(string? overrides) =>
        (string.IsNullOrWhiteSpace(overrides) ? Default : ConfigurationFactory.ParseString(overrides).WithFallback(Default))
        .WithFallback(ClusterSharding.DefaultConfig());
}
