namespace ActorMonitor.Celery.Durable;

/// <summary>
/// The ids of the last <see cref="Capacity"/> events an entity applied. A broker redelivers only
/// what was not yet acked, and a message is acked once its events are durable, so a window far
/// larger than the prefetch recognises every redelivery without growing with history.
/// Id 0 means "no id" (an event built in code, not decoded) and is never recognised.
/// A task sees a handful of events: ids live in a small ring scanned linearly, and a set is
/// only built once the ring is large (a busy worker).
/// </summary>
public sealed class RecentIds
{
    private const int ScanLimit = 32;

    private ulong[] _ring = new ulong[4];
    private int _start, _count;
    private HashSet<ulong>? _set;

    public RecentIds(int capacity) => Capacity = Math.Max(1, capacity);

    public int Capacity { get; }
    public int Count => _count;

    /// <summary>False when the id was already seen (a duplicate).</summary>
    public bool Add(ulong id)
    {
        if (id == 0) return true;
        if (Contains(id)) return false;
        if (_count == Capacity)
        {
            _set?.Remove(_ring[_start]);
            _ring[_start] = id;
            _start = (_start + 1) % _ring.Length;
        }
        else
        {
            if (_count == _ring.Length) Grow();
            _ring[(_start + _count) % _ring.Length] = id;
            _count++;
        }
        if (_set is not null) _set.Add(id);
        else if (_count > ScanLimit) _set = [.. Items()];
        return true;
    }

    public bool Contains(ulong id)
    {
        if (id == 0) return false;
        if (_set is not null) return _set.Contains(id);
        for (var i = 0; i < _count; i++)
            if (_ring[(_start + i) % _ring.Length] == id) return true;
        return false;
    }

    private void Grow()
    {
        var bigger = new ulong[Math.Min(Capacity, _ring.Length * 2)];
        for (var i = 0; i < _count; i++) bigger[i] = _ring[(_start + i) % _ring.Length];
        _ring = bigger;
        _start = 0;
    }

    private IEnumerable<ulong> Items()
    {
        for (var i = 0; i < _count; i++) yield return _ring[(_start + i) % _ring.Length];
    }

    public void Write(BinaryWriter w)
    {
        w.Write(_count);
        // A busy worker's row carries thousands of ids, written every checkpoint: the ring's two
        // runs go out as blocks, the bytes BinaryWriter.Write(ulong) gives each (little-endian).
        var first = Math.Min(_count, _ring.Length - _start);
        WriteIds(w, _ring.AsSpan(_start, first));
        WriteIds(w, _ring.AsSpan(0, _count - first));
    }

    private static void WriteIds(BinaryWriter w, ReadOnlySpan<ulong> ids)
    {
        if (BitConverter.IsLittleEndian) w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids));
        else foreach (var id in ids) w.Write(id);
    }

    public void Read(BinaryReader r)
    {
        var n = r.ReadInt32();
        for (var i = 0; i < n; i++) Add(r.ReadUInt64());
    }
}
