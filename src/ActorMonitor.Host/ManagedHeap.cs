using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Store;
using Akka.Configuration;

namespace ActorMonitor.Host;

/// <summary>
/// Gives the GC a hard limit for the managed heap of a node process
/// (<c>actormonitor.memory.gc-heap-limit</c>). Without one, the server GC sizes its budgets by
/// itself, and the heap it keeps committed wanders far above the live objects, and resident memory
/// with it. Near a limit the GC collects before it grows, so resident memory stays flat (the runs:
/// bench/RESULTS.md).
/// A limit is only set where the live objects are bounded: with the "memory" journal every row
/// lives in the heap, so "auto" sets none.
/// </summary>
public static class ManagedHeap
{
    public const ulong BaseBytes = 128UL << 20;
    // Twice the heap a task in memory was measured to hold after a full collection, when each had an actor of its own
    // (bench/RESULTS.md), as room for the garbage between collections. Workers are counted the same.
    public const ulong BytesPerLiveEntity = 8UL << 10;
    // A message between delivery and its checkpoint holds its events (their size: bench/RESULTS.md).
    public const ulong BytesPerPrefetchedMessage = 2UL << 10;

    /// <summary>How a node reports its limit at start-up: "264 MB" or "none".</summary>
    public static string Describe(ulong? limit) => limit is { } l ? $"{l >> 20} MB" : "none";

    /// <summary>The limit <paramref name="config"/> asks for, in bytes; null for none.</summary>
    public static ulong? LimitFor(Config config)
    {
        var settings = MonitorSettings.FromConfig(config);
        var spec = config.GetString("actormonitor.memory.gc-heap-limit", "auto").Trim();
        if (spec.Equals("off", StringComparison.OrdinalIgnoreCase)) return null;
        if (spec.Equals("auto", StringComparison.OrdinalIgnoreCase))
            return settings.Journal.Kind == StoreKind.Memory
                ? null
                : BaseBytes + (ulong)(settings.MaxTasksInMemory + settings.MaxWorkersInMemory) * BytesPerLiveEntity
                  + (ulong)settings.MaxUndurable * BytesPerPrefetchedMessage;
        long? bytes;
        try { bytes = config.GetByteSize("actormonitor.memory.gc-heap-limit"); }
        catch (Exception) { bytes = null; } // refused below, with the value given
        return bytes is > 0
            ? (ulong)bytes.Value
            : throw new ConfigurationException($"actormonitor.memory.gc-heap-limit must be auto, off or a size such as 512MiB, not '{spec}'");
    }

    /// <summary>
    /// Sets the limit <paramref name="config"/> asks for, once, before the node starts (the heap
    /// must not have committed more already). Returns the limit set, or null for none.
    /// </summary>
    public static ulong? Apply(Config config)
    {
        if (LimitFor(config) is not { } limit) return null;
        AppContext.SetData("GCHeapHardLimit", limit);
        try
        {
            GC.RefreshMemoryLimit();
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException($"actormonitor.memory.gc-heap-limit: {limit >> 20} MB cannot be set: {ex.Message}");
        }
        return limit;
    }
}
