namespace ActorMonitor.Celery.Durable;

/// <summary>
/// The ids of the last <see cref="Capacity"/> events an entity applied. A broker redelivers only
/// what was not yet acked, and a message is acked once its events are durable, so a window far
/// larger than the prefetch recognises every redelivery without growing with history.
/// Id 0 means "no id" (an event built in code, not decoded) and is never recognised.
/// </summary>
public sealed class RecentIds
{
    private readonly HashSet<ulong> _set = [];
    private readonly Queue<ulong> _order = new();

    public RecentIds(int capacity) => Capacity = Math.Max(1, capacity);

    public int Capacity { get; }
    public int Count => _order.Count;

    /// <summary>False when the id was already seen (a duplicate).</summary>
    public bool Add(ulong id)
    {
        if (id == 0) return true;
        if (!_set.Add(id)) return false;
        _order.Enqueue(id);
        if (_order.Count > Capacity) _set.Remove(_order.Dequeue());
        return true;
    }

    public bool Contains(ulong id) => id != 0 && _set.Contains(id);

    public void Write(BinaryWriter w)
    {
        w.Write(_order.Count);
        foreach (var id in _order) w.Write(id);
    }

    public void Read(BinaryReader r)
    {
        var n = r.ReadInt32();
        for (var i = 0; i < n; i++) Add(r.ReadUInt64());
    }
}
