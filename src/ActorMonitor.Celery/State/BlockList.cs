namespace ActorMonitor.Celery.State;

/// <summary>
/// A list with O(log n) indexing and O(√n) insertion anywhere: items live in blocks of at most
/// 2 × <see cref="BlockSize"/>, and the start index of every block is kept in an array. It lets
/// the task heap run Celery's own bisect (the same probes at the same indices) on hundreds of
/// thousands of entries, where a flat list would move megabytes on every insertion.
/// </summary>
internal sealed class BlockList<T>
{
    private const int BlockSize = 128;

    private readonly List<List<T>> _blocks = [];
    private readonly List<int> _starts = []; // _starts[b] = index of the first item of block b

    public int Count { get; private set; }

    public T this[int index]
    {
        get
        {
            var b = BlockOf(index);
            return _blocks[b][index - _starts[b]];
        }
    }

    public T Last => _blocks[^1][^1];

    public void Add(T item)
    {
        if (_blocks.Count == 0 || _blocks[^1].Count >= 2 * BlockSize)
        {
            _blocks.Add(new List<T>(2 * BlockSize));
            _starts.Add(Count);
        }
        _blocks[^1].Add(item);
        Count++;
    }

    public void Insert(int index, T item)
    {
        if (index == Count)
        {
            Add(item);
            return;
        }
        var b = BlockOf(index);
        var block = _blocks[b];
        block.Insert(index - _starts[b], item);
        Count++;
        for (var i = b + 1; i < _starts.Count; i++) _starts[i]++;
        if (block.Count > 2 * BlockSize) Split(b);
    }

    public void RemoveFirst()
    {
        var first = _blocks[0];
        first.RemoveAt(0);
        Count--;
        if (first.Count == 0)
        {
            _blocks.RemoveAt(0);
            _starts.RemoveAt(0);
        }
        for (var i = 0; i < _starts.Count; i++) _starts[i] = i == 0 ? 0 : _starts[i] - 1;
    }

    /// <summary>Items from the last to the first.</summary>
    public IEnumerable<T> Reversed()
    {
        for (var b = _blocks.Count - 1; b >= 0; b--)
        {
            var block = _blocks[b];
            for (var i = block.Count - 1; i >= 0; i--) yield return block[i];
        }
    }

    private void Split(int b)
    {
        var block = _blocks[b];
        var tail = block.GetRange(BlockSize, block.Count - BlockSize);
        block.RemoveRange(BlockSize, block.Count - BlockSize);
        _blocks.Insert(b + 1, tail);
        _starts.Insert(b + 1, _starts[b] + BlockSize);
    }

    private int BlockOf(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        int lo = 0, hi = _starts.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_starts[mid] <= index) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }
}
