using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Client;

/// <summary>
/// Binary building blocks of the monitor's messages on the wire (little-endian, length-prefixed
/// strings): compact and fast where Akka's default JSON serializer would carry type names.
/// </summary>
public static class Wire
{
    // Kept per thread between writes: a new stream for a batch of events grows by doubling from
    // 256 bytes, copying all it holds each time. A nested Write takes a stream of its own.
    [ThreadStatic] private static MemoryStream? _spare;

    /// <summary>The largest buffer kept for the next write; a larger one (a rare large answer) is left to the GC.</summary>
    private const int KeptBytes = 256 * 1024;

    public static byte[] Write(Action<BinaryWriter> write)
    {
        var ms = _spare ?? new MemoryStream(256);
        _spare = null;
        ms.SetLength(0);
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) write(w);
        var bytes = ms.ToArray();
        if (ms.Capacity <= KeptBytes) _spare = ms;
        return bytes;
    }

    public static T Read<T>(byte[] bytes, Func<BinaryReader, T> read)
    {
        // Visible buffer: a reader can take a string's UTF-8 bytes in place (ReadShared below).
        using var r = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length, writable: false, publiclyVisible: true));
        return read(r);
    }

    /// <summary>
    /// A string written by <see cref="BinaryWriter.Write(string)"/>, as one shared instance for
    /// the short texts that repeat message after message (names, field keys, small values):
    /// looked up in <paramref name="strings"/> without a new string each time.
    /// </summary>
    public static string ReadShared(this BinaryReader r, Utf8Interner strings)
    {
        if (r.BaseStream is not MemoryStream ms || !ms.TryGetBuffer(out var buffer)) return r.ReadString();
        var length = r.Read7BitEncodedInt();
        var start = (int)ms.Position;
        if (length < 0 || length > ms.Length - start) throw new EndOfStreamException($"a string of {length} bytes runs past the message's end");
        ms.Position = start + length;
        return strings.Get(buffer.AsSpan(start, length));
    }

    public static void WriteNullable(this BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    public static string? ReadNullable(this BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    public static void WriteNullable(this BinaryWriter w, double? value)
    {
        w.Write(value.HasValue);
        if (value is { } v) w.Write(v);
    }

    public static double? ReadNullableDouble(this BinaryReader r) => r.ReadBoolean() ? r.ReadDouble() : null;

    /// <summary>Counts by key, in the dictionary's order.</summary>
    public static void WriteCounts(this BinaryWriter w, IReadOnlyDictionary<string, long> counts)
    {
        w.Write(counts.Count);
        foreach (var (k, n) in counts)
        {
            w.Write(k);
            w.Write(n);
        }
    }

    public static Dictionary<string, long> ReadCounts(this BinaryReader r)
    {
        var n = r.ReadInt32();
        var counts = new Dictionary<string, long>(n, StringComparer.Ordinal);
        for (var i = 0; i < n; i++) counts.Add(r.ReadString(), r.ReadInt64());
        return counts;
    }

    public static void WriteFields(this BinaryWriter w, IReadOnlyList<KeyValuePair<string, string?>> fields)
    {
        w.Write(fields.Count);
        foreach (var (k, v) in fields)
        {
            w.Write(k);
            w.WriteNullable(v);
        }
    }

    public static KeyValuePair<string, string?>[] ReadFields(this BinaryReader r)
    {
        var fields = new KeyValuePair<string, string?>[r.ReadInt32()];
        for (var i = 0; i < fields.Length; i++) fields[i] = new(r.ReadString(), r.ReadNullable());
        return fields;
    }

    public static void WriteStrings(this BinaryWriter w, IReadOnlyCollection<string> values)
    {
        w.Write(values.Count);
        foreach (var v in values) w.Write(v);
    }

    public static string[] ReadStrings(this BinaryReader r)
    {
        var values = new string[r.ReadInt32()];
        for (var i = 0; i < values.Length; i++) values[i] = r.ReadString();
        return values;
    }

    public static void WriteTask(this BinaryWriter w, TaskSnapshot? t)
    {
        w.Write(t is not null);
        if (t is null) return;
        w.Write(t.Uuid);
        w.WriteFields(t.Fields);
        w.WriteNullable(t.Worker);
        w.WriteStrings(t.Children);
    }

    public static TaskSnapshot? ReadTask(this BinaryReader r) =>
        r.ReadBoolean() ? new TaskSnapshot(r.ReadString(), r.ReadFields(), r.ReadNullable(), r.ReadStrings()) : null;

    public static void WriteWorker(this BinaryWriter w, WorkerSnapshot? wk)
    {
        w.Write(wk is not null);
        if (wk is null) return;
        w.Write(wk.Hostname);
        w.WriteFields(wk.Fields);
        w.Write(wk.Heartbeats.Count);
        foreach (var h in wk.Heartbeats) w.Write(h);
        w.Write(wk.Alive);
    }

    public static WorkerSnapshot? ReadWorker(this BinaryReader r)
    {
        if (!r.ReadBoolean()) return null;
        var hostname = r.ReadString();
        var fields = r.ReadFields();
        var heartbeats = new double[r.ReadInt32()];
        for (var i = 0; i < heartbeats.Length; i++) heartbeats[i] = r.ReadDouble();
        return new WorkerSnapshot(hostname, fields, heartbeats, r.ReadBoolean());
    }
}
