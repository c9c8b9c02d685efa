namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// The live entities of one kind on this node, least recently used first. Akka.NET 1.5.75 has
/// no active-entity limit, so the keeper uses this to choose whom to passivate.
/// </summary>
public sealed class LruTracker<TValue>
{
    private readonly LinkedList<(string Id, TValue Value)> _order = new();
    private readonly Dictionary<string, LinkedListNode<(string Id, TValue Value)>> _nodes = new(StringComparer.Ordinal);

    public int Count => _nodes.Count;

    public bool TryGet(string id, out TValue value)
    {
        if (_nodes.TryGetValue(id, out var node))
        {
            value = node.Value.Value;
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>Adds or replaces the entry and makes it the most recently used.</summary>
    public void Touch(string id, TValue value)
    {
        if (_nodes.TryGetValue(id, out var node))
        {
            _order.Remove(node);
            node.Value = (id, value);
            _order.AddLast(node);
        }
        else _nodes[id] = _order.AddLast((id, value));
    }

    /// <summary>Makes an existing entry the most recently used; false when unknown.</summary>
    public bool Touch(string id)
    {
        if (!_nodes.TryGetValue(id, out var node)) return false;
        _order.Remove(node);
        _order.AddLast(node);
        return true;
    }

    public bool Remove(string id)
    {
        if (!_nodes.Remove(id, out var node)) return false;
        _order.Remove(node);
        return true;
    }

    /// <summary>
    /// Entries from the least recently used on. The caller may <see cref="Touch(string)"/> the
    /// entry it was just given (it moves to the end, where this walk meets it once more).
    /// </summary>
    public IEnumerable<(string Id, TValue Value)> LeastRecentlyUsed()
    {
        for (var node = _order.First; node is not null;)
        {
            var next = node.Next;
            yield return node.Value;
            node = next;
        }
    }
}
