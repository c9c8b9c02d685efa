using System.Runtime.InteropServices;

namespace ActorMonitor.Host;

/// <summary>
/// Caps glibc's malloc arenas at two. glibc gives each thread that contends for the heap an arena
/// of its own, up to eight per core; SQLite, Npgsql and RabbitMQ.Client allocate from thread-pool
/// threads, and every arena keeps the memory freed in it: with the default, resident memory grew
/// through a long run; with two it stayed flat at the same ingest rate (bench/RESULTS.md). The
/// same as MALLOC_ARENA_MAX=2, but it needs no variable set before the process starts.
/// </summary>
public static class NativeHeap
{
    private const int M_ARENA_MAX = -8;

    /// <summary>
    /// Call first thing in Main, before the process starts its own threads. True when the cap is
    /// set; false off glibc, or when MALLOC_ARENA_MAX is given (it then decides).
    /// </summary>
    public static bool LimitArenas()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null) return false;
        try
        {
            return mallopt(M_ARENA_MAX, 2) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // musl and other C libraries: their allocators have no arenas to cap
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
