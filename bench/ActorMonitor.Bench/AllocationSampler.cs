using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace ActorMonitor.Bench;

/// <summary>
/// BENCH_ALLOCATIONS=1: listens to the runtime's allocation ticks (one per ~100 KB allocated)
/// and prints, at exit, the types that took the most, a sampled share of all bytes allocated.
/// Finds where the allocation rate, and with it the GC's work and committed memory, comes from.
/// </summary>
public sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();

    public static AllocationSampler? StartIfAsked() =>
        Environment.GetEnvironmentVariable("BENCH_ALLOCATIONS") is "1" ? new AllocationSampler() : null;

    protected override void OnEventSourceCreated(EventSource source)
    {
        // GC keyword (0x1) at verbose level carries GCAllocationTick.
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("GCAllocationTick") || e.Payload is null) return;
        var type = e.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a]) : 0;
        _bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    public void Report(int top = 25)
    {
        var total = _bytesByType.Values.Sum();
        Console.Error.WriteLine($"allocations sampled: {total / 1048576} MB");
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(kv => kv.Value).Take(top))
            Console.Error.WriteLine($"  {bytes * 100.0 / Math.Max(1, total),5:F1}%  {bytes / 1048576,7} MB  {type}");
    }
}
