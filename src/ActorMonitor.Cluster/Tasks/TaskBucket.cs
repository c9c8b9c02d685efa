using ActorMonitor.Client;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>
/// The tasks of one task shard (entity id = shard id, see <see cref="TaskMessageExtractor"/>): a
/// slot per task in memory, each applying its events once with Celery's Task rules, linking the
/// task to its parent and answering GetTask. An actor per task would cost its creation and stop
/// for every task (docs/architecture.md, "What bounds a lone node's replay").
/// Each task's row goes to and from the node's keeper as an entity's would: loaded before the
/// task's first message is handled, handed over when the keeper collects it, and, before the
/// bucket stops (passivation or hand-off), handed over and committed. The keeper decides which
/// tasks leave memory (<see cref="PassivateEntity"/>).
/// </summary>
/// <param name="observe">Each event applied for the first time goes, as a <see cref="TaskObserved"/>, through the keeper to the node's metrics.</param>
public sealed class TaskBucket(Func<IActorRef> taskRegion, IActorRef keeper, bool observe = false) : UntypedActor
{
    public const string TypeName = MonitorClient.TaskTypeName;

    private readonly Dictionary<string, TaskSlot> _slots = new(StringComparer.Ordinal);
    private int _loading, _saving;
    private bool _stopping;

    public static Func<string, Props> PropsFor(IActorRef keeper, bool observe = false) =>
        _ => Props.Create(() => new TaskBucket(RegionOfThisSystem, keeper, observe));

    private static readonly Func<IActorRef> RegionOfThisSystem = () => ClusterSharding.Get(Context.System).ShardRegion(TypeName);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ITaskEntityMessage m:
                var target = SlotOf(m.Uuid);
                Deliver(target, m, Sender);
                LetGoIfUnknown(target);
                break;
            case RowLoaded m when _slots.TryGetValue(m.Id, out var slot) && slot.Record is null:
                slot.Load(m.Data);
                _loading--;
                if (slot.Waiting is { } waiting)
                {
                    slot.Waiting = null;
                    foreach (var (queued, sender) in waiting) Deliver(slot, queued, sender);
                }
                LetGoIfUnknown(slot);
                if (_stopping && _loading == 0) SaveAllAndStop();
                break;
            case RowLoaded:
                break; // for a task this bucket let go, or held before it restarted
            case CollectRow c when _slots.TryGetValue(c.Id, out var slot):
                Deliver(slot, c, Sender);
                break;
            case CollectRow c:
                Sender.Tell(new EntityGone(EntityKind.Task, c.Id)); // not held (this bucket restarted)
                break;
            case PassivateEntity p:
                Passivate(p.Id);
                break;
            case RowSaved:
                if (--_saving == 0 && _stopping) Context.Stop(Self);
                break;
            case StopEntity:
                _stopping = true;
                if (_loading == 0) SaveAllAndStop();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private TaskSlot SlotOf(string uuid)
    {
        if (_slots.TryGetValue(uuid, out var slot)) return slot;
        _slots[uuid] = slot = new TaskSlot(uuid);
        _loading++;
        keeper.Tell(new LoadEntity(EntityKind.Task, uuid));
        return slot;
    }

    private void Deliver(TaskSlot slot, object message, IActorRef sender)
    {
        if (slot.Record is null)
        {
            (slot.Waiting ??= []).Add((message, sender));
            return;
        }
        var record = slot.Record;
        switch (message)
        {
            case ApplyTaskEvent m:
                Apply(slot, m, sender);
                break;
            case AdoptChild m:
                if (record.State.AddChild(m.ChildUuid)) slot.Changed();
                Answer(slot, m.AckTo, m.DuplicateOf == 0 ? new EventsApplied(m.DeliveryId) : new EventsApplied(m.DeliveryId, [m.DuplicateOf]));
                break;
            case GetTask:
                sender.Tell(new TaskReply(slot.Uuid, record.State.Exists ? record.State.ToSnapshot() : null));
                if (record.State.Exists) keeper.Tell(new EntityTouched(EntityKind.Task, slot.Uuid));
                else slot.AskedUnknown = true;
                break;
            case CollectRow c:
                sender.Tell(slot.HandOver(c.CycleId));
                break;
        }
        Announce(slot);
    }

    private void Apply(TaskSlot slot, ApplyTaskEvent m, IActorRef sender)
    {
        var record = slot.Record!;
        if (!record.Apply(m.Event, m.Seq))
        {
            var linked = record.State.ParentId;
            if (!string.IsNullOrEmpty(linked) && linked != slot.Uuid)
                taskRegion().Tell(new AdoptChild(linked, slot.Uuid, m.DeliveryId, sender, DuplicateOf: m.Event.Id));
            else Answer(slot, sender, new EventsApplied(m.DeliveryId, [m.Event.Id]));
            return;
        }
        slot.Changed();
        var observed = observe ? TaskObservations.Of(record, m.Event, ref slot.Queue) : null;

        // Celery links a task to its parent after every event whose task has a parent_id; each
        // parent is told once. The parent acknowledges on this event's behalf.
        var parent = record.State.ParentId;
        if (!string.IsNullOrEmpty(parent) && record.FirstLinkTo(parent))
        {
            if (parent == slot.Uuid) record.State.AddChild(parent); // a retried task is its own child
            else
            {
                Announce(slot, observed); // before the parent can answer for this event
                taskRegion().Tell(new AdoptChild(parent, slot.Uuid, m.DeliveryId, sender));
                return;
            }
        }
        Answer(slot, sender, new EventsApplied(m.DeliveryId), observed);
    }

    /// <summary>
    /// Tells the keeper of a change now: before any message that may lead to an answer from
    /// elsewhere (a parent's on a child's behalf), so no checkpoint can miss this row.
    /// </summary>
    private void Announce(TaskSlot slot, TaskObserved? observed = null)
    {
        var changed = slot.TakeUnannounced();
        if (changed || observed is not null) keeper.Tell(new EntityApplied(EntityKind.Task, slot.Uuid, changed, Observed: observed));
    }

    /// <summary>Answers a receiver (through the keeper, which batches) and tells the keeper of a change in the same message.</summary>
    private void Answer(TaskSlot slot, IActorRef replyTo, EventsApplied answer, TaskObserved? observed = null) =>
        keeper.Tell(new EntityApplied(EntityKind.Task, slot.Uuid, slot.TakeUnannounced(), replyTo, answer, observed));

    private void Passivate(string uuid)
    {
        if (!_slots.TryGetValue(uuid, out var slot)) keeper.Tell(new EntityGone(EntityKind.Task, uuid));
        else if (slot.Record is null || slot.Dirty || _stopping) keeper.Tell(new PassivationDeclined(EntityKind.Task, uuid));
        else Drop(slot);
    }

    /// <summary>
    /// A task asked for and unknown has no reason to stay in memory, once every message that
    /// waited with the query for its row is applied (an event among them makes it a task).
    /// </summary>
    private void LetGoIfUnknown(TaskSlot slot)
    {
        if (!slot.AskedUnknown || slot.Record is null) return;
        slot.AskedUnknown = false;
        if (!slot.Record.State.Exists && !slot.Dirty && !_stopping) Drop(slot);
    }

    /// <summary>A clean task leaves memory: its next message loads its row again.</summary>
    private void Drop(TaskSlot slot)
    {
        _slots.Remove(slot.Uuid);
        keeper.Tell(new EntityGone(EntityKind.Task, slot.Uuid));
    }

    /// <summary>
    /// The shard stops this bucket (passivation or hand-off): every changed task hands its row to
    /// the keeper first, and the bucket stops once all are committed, so the next incarnation
    /// (here or on another node) loads the latest rows.
    /// </summary>
    private void SaveAllAndStop()
    {
        foreach (var slot in _slots.Values)
        {
            if (!slot.Dirty) continue;
            _saving++;
            keeper.Tell(new SaveAndStop(slot.HandOver(0)));
        }
        if (_saving == 0) Context.Stop(Self);
    }
}
