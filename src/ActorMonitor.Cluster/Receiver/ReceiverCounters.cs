using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// The receiver's counters in one place: restored from its checkpoint, advanced as messages are
/// released in order, and written into the next checkpoint and its stats.
/// </summary>
public sealed class ReceiverCounters
{
    private readonly Dictionary<RejectionCause, long> _rejections;

    public ReceiverCounters(ReceiverCheckpoint restored)
    {
        Messages = restored.Messages;
        RejectedMessages = restored.RejectedMessages;
        AcceptedEvents = restored.AcceptedEvents;
        RejectedEvents = restored.RejectedEvents;
        OtherEvents = restored.OtherEvents;
        DuplicateEvents = restored.DuplicateEvents;
        DuplicateMessages = restored.DuplicateMessages;
        _rejections = new Dictionary<RejectionCause, long>(restored.RejectionsByCause);
    }

    public long Messages { get; private set; }
    public long RejectedMessages { get; private set; }
    public long AcceptedEvents { get; private set; }
    public long RejectedEvents { get; private set; }
    public long OtherEvents { get; private set; }
    public long DuplicateEvents { get; private set; }
    public long DuplicateMessages { get; private set; }

    public Dictionary<RejectionCause, long> RejectionsByCause() => new(_rejections);

    /// <summary>A redelivered message recognised as counted before.</summary>
    public void CountRedelivery() => DuplicateMessages++;

    /// <summary>
    /// Counts a released message; returns its events an entity had not applied before (what the
    /// index takes), or null when there are none. <paramref name="duplicates"/>: ids entities reported.
    /// </summary>
    public List<IndexEntry>? Count(IReadOnlyList<Rejection> rejections, IndexEntry[] entries, ulong[] ids, HashSet<ulong>? duplicates)
    {
        Messages++;
        if (rejections.Count > 0)
        {
            RejectedMessages++;
            foreach (var r in rejections)
            {
                RejectedEvents++;
                _rejections.TryGetValue(r.Cause, out var n);
                _rejections[r.Cause] = n + 1;
            }
        }

        List<IndexEntry>? fresh = null;
        for (var i = 0; i < entries.Length; i++)
        {
            var e = entries[i];
            if (duplicates is not null && duplicates.Contains(ids[i]) && e.Group is "task" or "worker")
            {
                DuplicateEvents++;
                continue;
            }
            AcceptedEvents++;
            if (e.Group is not ("task" or "worker")) OtherEvents++;
            (fresh ??= new List<IndexEntry>(entries.Length)).Add(e);
        }
        return fresh;
    }

    public ReceiverCheckpoint ToCheckpoint(long clock, long seq, double? lastLocalReceived, ulong[] ackedHashes, ulong[] previousAckedHashes, long cut) =>
        new(Messages, RejectedMessages, AcceptedEvents, RejectedEvents, OtherEvents, DuplicateEvents, DuplicateMessages,
            clock, seq, lastLocalReceived, RejectionsByCause(), ackedHashes, previousAckedHashes) { Cut = cut };

    public ReceiverStats ToStats(long clock, double? lastLocalReceived, int inFlight) =>
        new(Messages, RejectedMessages, AcceptedEvents, RejectedEvents, clock, lastLocalReceived, inFlight, RejectionsByCause())
        {
            OtherEvents = OtherEvents,
            DuplicateEvents = DuplicateEvents,
            DuplicateMessages = DuplicateMessages,
        };
}
