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

    public static byte[] Write(Action<BinaryWriter> write)
    {
        using var ms = new MemoryStream(1024);
        using (var w = new BinaryWriter(ms))
        {
            w.Write(Version);
            write(w);
        }
        return ms.ToArray();
    }

    public static T Read<T>(byte[] row, Func<BinaryReader, T> read)
    {
        using var r = new BinaryReader(new MemoryStream(row, writable: false));
        var version = r.ReadByte();
        if (version != Version) throw new InvalidDataException($"stored row has layout version {version}, this build reads {Version}");
        return read(r);
    }
}
