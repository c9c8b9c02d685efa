namespace ActorMonitor.Celery.Durable;

/// <summary>
/// The binary layout of stored task and worker rows. Version byte first, so a later layout can
/// still read older rows.
/// </summary>
public static class RowFormat
{
    public const byte Version = 1;

    public static void WriteNullable(BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    public static string? ReadNullable(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    // Rows are written by the thousand per checkpoint: each thread reuses one buffer, so a row
    // costs its final array only (a fresh, growing stream per row was a large share of the
    // node's allocations). A buffer that grew past MaxKeptBuffer is not kept.
    private const int MaxKeptBuffer = 1 << 20;
    [ThreadStatic] private static MemoryStream? _buffer;
    [ThreadStatic] private static BinaryWriter? _writer;

    public static byte[] Write(Action<BinaryWriter> write)
    {
        var ms = _buffer ?? new MemoryStream(1024);
        var w = _writer ?? new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true);
        _buffer = null; // a row written inside another row's callback gets its own buffer
        _writer = null;
        try
        {
            ms.SetLength(0);
            w.Write(Version);
            write(w);
            w.Flush();
            return ms.ToArray();
        }
        finally
        {
            if (ms.Capacity <= MaxKeptBuffer) (_buffer, _writer) = (ms, w);
        }
    }

    public static T Read<T>(byte[] row, Func<BinaryReader, T> read)
    {
        using var r = new BinaryReader(new MemoryStream(row, writable: false));
        var version = r.ReadByte();
        if (version != Version) throw new InvalidDataException($"stored row has layout version {version}, this build reads {Version}");
        return read(r);
    }
}
