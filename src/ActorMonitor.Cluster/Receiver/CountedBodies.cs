namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// Body hashes of the messages counted lately, to recognise a broker redelivery of one: this
/// receiver's since two checkpoints ago, and (in a cluster) those other nodes' receivers counted
/// in their last two checkpoints, read from the store.
/// </summary>
public sealed class CountedBodies
{
    private static readonly TimeSpan LookElsewhereAtMostEvery = TimeSpan.FromSeconds(2);

    private readonly Dictionary<ulong, int> _counted = new(); // hash -> how many
    private IReadOnlyCollection<ulong> _elsewhere = [];
    private DateTime _elsewhereReadAt = DateTime.MinValue;

    public CountedBodies(ulong[] lastAcked, ulong[] previousAcked)
    {
        LastAcked = lastAcked;
        PreviousAcked = previousAcked;
        foreach (var h in lastAcked.Concat(previousAcked)) Remember(h);
    }

    /// <summary>What the last checkpoint acked, and the one before.</summary>
    public ulong[] LastAcked { get; private set; }
    public ulong[] PreviousAcked { get; private set; }

    public bool Counted(ulong hash) => hash != 0 && (_counted.ContainsKey(hash) || _elsewhere.Contains(hash));

    /// <summary>Not counted here, and what other nodes counted was not read within the last 2 s.</summary>
    public bool WorthLookingElsewhere(ulong hash) =>
        hash != 0 && !_counted.ContainsKey(hash) && DateTime.UtcNow - _elsewhereReadAt > LookElsewhereAtMostEvery;

    public void ReadElsewhere(IReadOnlyCollection<ulong> hashes) => (_elsewhere, _elsewhereReadAt) = (hashes, DateTime.UtcNow);

    public void Remember(ulong hash)
    {
        if (hash == 0) return;
        _counted.TryGetValue(hash, out var n);
        _counted[hash] = n + 1;
    }

    /// <summary>A checkpoint acked these: the hashes acked two checkpoints ago are forgotten.</summary>
    public void Acked(ulong[] hashes)
    {
        foreach (var h in PreviousAcked) Forget(h);
        PreviousAcked = LastAcked;
        LastAcked = hashes;
    }

    private void Forget(ulong hash)
    {
        if (!_counted.TryGetValue(hash, out var n)) return;
        if (n == 1) _counted.Remove(hash);
        else _counted[hash] = n - 1;
    }
}
