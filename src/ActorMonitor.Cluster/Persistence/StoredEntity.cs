using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Cluster.Persistence;

/// <summary>
/// What task and worker entities share with their node's <see cref="StateKeeper"/>: load the row
/// as the entity starts (messages wait meanwhile), say once when the record changed, hand the row
/// over when asked (a checkpoint), and before stopping (passivation or hand-off) wait until a
/// changed row is committed, so the next incarnation always loads the latest row.
/// Answers to receivers go through the keeper too (<see cref="Answer"/>): with the news of a change
/// they make one message per event, and the keeper sends them on in batches.
/// </summary>
public abstract class StoredEntity<TRecord> : UntypedActor, IWithUnboundedStash where TRecord : class
{
    private readonly EntityKind _kind;
    private readonly IActorRef _keeper;
    private bool _dirty, _stopping;
    // Changed from clean to dirty, and the keeper not told yet.
    private bool _unannounced;
    // Loaded as absent, and no row handed over since: the next row is the task's first.
    private bool _neverStored;

    protected StoredEntity(EntityKind kind, string id, IActorRef keeper)
    {
        _kind = kind;
        Id = id;
        _keeper = keeper;
    }

    public IStash Stash { get; set; } = null!;

    protected string Id { get; }

    /// <summary>Null while the row is loading.</summary>
    protected TRecord? Record { get; private set; }

    protected abstract TRecord NewRecord();
    protected abstract TRecord FromRow(byte[] row);
    protected abstract EntityRow ToRow(TRecord record, long cycleId);

    /// <summary>True once this entity asked to be passivated; a stop without it is a hand-off (or the node stopping).</summary>
    protected bool PassivatedItself { get; private set; }

    /// <summary>The record is there (new, or read from its row), before any message is handled.</summary>
    protected virtual void Loaded(TRecord record) { }

    /// <summary>The entity's own messages, once its record is loaded; false when not one of them.</summary>
    protected abstract bool Handle(TRecord record, object message);

    protected override void PreStart() => _keeper.Tell(new LoadEntity(_kind, Id));

    protected sealed override void OnReceive(object message)
    {
        if (Record is null)
        {
            if (message is RowLoaded loaded)
            {
                Record = loaded.Data is null ? NewRecord() : FromRow(loaded.Data);
                _neverStored = loaded.Data is null;
                Loaded(Record);
                Stash.UnstashAll();
            }
            else Stash.Stash();
            return;
        }

        switch (message)
        {
            case CollectRow c:
                Sender.Tell(HandOver(c.CycleId));
                _dirty = false;
                break;
            case PassivateEntity:
                PassivatedItself = true;
                Context.Parent.Tell(new Passivate(StopEntity.Instance));
                break;
            case StopEntity:
                _stopping = true;
                SaveOrStop();
                break;
            case RowSaved:
                SaveOrStop();
                break;
            default:
                if (!Handle(Record, message)) Unhandled(message);
                if (_unannounced) Announce();
                break;
        }
    }

    /// <summary>
    /// The record changed: the keeper hears it once per change from clean to dirty, with the
    /// message's <see cref="Answer"/>, or by <see cref="Announce"/>.
    /// </summary>
    protected void Changed()
    {
        if (!_dirty && !_stopping) _unannounced = true;
        _dirty = true;
    }

    /// <summary>
    /// Tells the keeper of a change now: before any message that may lead to an answer from
    /// elsewhere (a parent's on a child's behalf), so no checkpoint can miss this row.
    /// </summary>
    protected void Announce(Metrics.TaskObserved? observed = null)
    {
        if (!_unannounced && observed is null) return;
        _keeper.Tell(new EntityApplied(_kind, Id, _unannounced, Observed: observed));
        _unannounced = false;
    }

    /// <summary>Answers a receiver (through the keeper, which batches) and tells the keeper of a change in the same message.</summary>
    protected void Answer(IActorRef replyTo, EventsApplied answer, Metrics.TaskObserved? observed = null)
    {
        _keeper.Tell(new EntityApplied(_kind, Id, _unannounced, replyTo, answer, observed));
        _unannounced = false;
    }

    /// <summary>A query was answered: the entity becomes the most recently used.</summary>
    protected void Touched() => _keeper.Tell(new EntityTouched(_kind, Id));

    /// <summary>Asked for something that does not exist: no reason to stay in memory.</summary>
    protected void PassivateIfUnchanged()
    {
        if (_dirty) return;
        PassivatedItself = true;
        Context.Parent.Tell(new Passivate(StopEntity.Instance));
    }

    private void SaveOrStop()
    {
        if (!_dirty)
        {
            Context.Stop(Self);
            return;
        }
        _dirty = false;
        _keeper.Tell(new SaveAndStop(HandOver(0)));
    }

    private EntityRow HandOver(long cycleId)
    {
        var row = ToRow(Record!, cycleId);
        if (_neverStored && row.Task is { } task) row = row with { Task = task with { New = true } };
        _neverStored = false;
        return row;
    }
}
