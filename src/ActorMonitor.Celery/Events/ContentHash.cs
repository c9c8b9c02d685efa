namespace ActorMonitor.Celery.Events;

/// <summary>
/// 64-bit FNV-1a of raw bytes: stable across processes and machines (unlike HashCode), so an
/// event's id survives restarts and is the same on every node that receives a redelivery.
/// </summary>
public static class ContentHash
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Of(ReadOnlySpan<byte> bytes)
    {
        var hash = Offset;
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= Prime;
        }
        return hash;
    }
}
