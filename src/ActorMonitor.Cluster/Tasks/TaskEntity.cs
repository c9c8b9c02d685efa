using System.Collections.Frozen;
using ActorMonitor.Client;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Metrics;
using ActorMonitor.Cluster.Persistence;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>
/// One Celery task (entity id = uuid): applies each event once with Celery's Task rules, links the
/// task to its parent and answers GetTask; its row goes to and from the node's keeper (see
/// <see cref="StoredEntity{TRecord}"/>).
/// </summary>
/// <param name="observe">Each event applied for the first time goes, as a <see cref="TaskObserved"/>, through the keeper to the node's metrics.</param>
public sealed class TaskEntity(string uuid, Func<IActorRef> taskRegion, IActorRef keeper, bool observe = false)
    : StoredEntity<TaskRecord>(EntityKind.Task, uuid, keeper)
{
    // The queue named by the task-sent event (not a field of Celery's task schema, so not in the
    // row): celery-exporter's queue_name label; "celery" when unknown, as there.
    private string? _queue;

    public const string TypeName = Client.MonitorClient.TaskTypeName;

    protected override TaskRecord NewRecord() => new(Id);
    protected override TaskRecord FromRow(byte[] row) => TaskRecord.FromRow(Id, row);
    protected override EntityRow ToRow(TaskRecord record, long cycleId) => EntityRows.Task(record, cycleId);

    protected override bool Handle(TaskRecord record, object message)
    {
        switch (message)
        {
            case ApplyTaskEvent m:
                Apply(record, m);
                return true;
            case AdoptChild m:
                if (record.State.AddChild(m.ChildUuid)) Changed();
                Answer(m.AckTo, m.DuplicateOf == 0 ? new EventsApplied(m.DeliveryId) : new EventsApplied(m.DeliveryId, [m.DuplicateOf]));
                return true;
            case GetTask:
                Sender.Tell(new TaskReply(Id, record.State.Exists ? record.State.ToSnapshot() : null));
                if (record.State.Exists) Touched();
                else PassivateIfUnchanged(); // asked for an unknown task
                return true;
            default:
                return false;
        }
    }

    // One entity per task: Props.Create(() => new ...) compiles an expression per call and the
    // argument form binds the constructor by reflection; a producer just calls it.
    /// <param name="observe">Every event applied for the first time goes to the node's metrics (through the keeper).</param>
    public static Func<string, Props> PropsFor(IActorRef keeper, bool observe = false) =>
        uuid => Akka.Actor.Props.CreateBy(new Producer(uuid, keeper, observe));

    private static readonly Func<IActorRef> RegionOfThisSystem = () => ClusterSharding.Get(Context.System).ShardRegion(TypeName);

    private sealed class Producer(string uuid, IActorRef keeper, bool observe) : IIndirectActorProducer
    {
        public Type ActorType => typeof(TaskEntity);
        public ActorBase Produce() => new TaskEntity(uuid, RegionOfThisSystem, keeper, observe);
        public void Release(ActorBase actor) { }
    }

    private void Apply(TaskRecord record, ApplyTaskEvent m)
    {
        if (!record.Apply(m.Event, m.Seq))
        {
            var linked = record.State.ParentId;
            if (!string.IsNullOrEmpty(linked) && linked != Id)
                taskRegion().Tell(new AdoptChild(linked, Id, m.DeliveryId, Sender, DuplicateOf: m.Event.Id));
            else Answer(Sender, new EventsApplied(m.DeliveryId, [m.Event.Id]));
            return;
        }
        Changed();
        var observed = observe ? Observed(record, m.Event) : null;

        // Celery links a task to its parent after every event whose task has a parent_id; each
        // parent is told once. The parent acknowledges on this event's behalf.
        var parent = record.State.ParentId;
        if (!string.IsNullOrEmpty(parent) && record.FirstLinkTo(parent))
        {
            if (parent == Id) record.State.AddChild(parent); // a retried task is its own child
            else
            {
                Announce(observed); // before the parent can answer for this event
                taskRegion().Tell(new AdoptChild(parent, Id, m.DeliveryId, Sender));
                return;
            }
        }
        Answer(Sender, new EventsApplied(m.DeliveryId), observed);
    }

    private TaskObserved Observed(TaskRecord record, TaskEvent ev)
    {
        var state = record.State;
        if (ev.Field("queue") is { } queue && RawJson.AsString(queue) is { } q) _queue = q;
        var eta = state["eta"];
        var hasEta = eta is not null && eta != RawJson.Null && eta != "\"\"";
        return new TaskObserved(
            Id, EventType(ev.Subject), ev.Hostname,
            EventName(ev, state) ?? state.Name ?? "",
            _queue ?? "celery", state.State, state.Worker,
            RawJson.AsNumber(ev.Field("runtime")), RawJson.AsNumber(state["runtime"]),
            ev.Subject == "failed" ? RawJson.AsString(state["exception"]) : null,
            hasEta, hasEta ? EtaEpoch(eta!) : null,
            RawJson.AsNumber(state["sent"]), RawJson.AsNumber(state["received"]), RawJson.AsNumber(state["started"]));
    }

    /// <summary>The event's own task name: the state's decoded string when the state took that very value.</summary>
    private static string? EventName(TaskEvent ev, TaskState state) =>
        ev.Field("name") is not { } raw ? null : ReferenceEquals(raw, state["name"]) ? state.Name : RawJson.AsString(raw);

    private static readonly FrozenDictionary<string, string> CeleryEventTypes =
        new[] { "sent", "received", "started", "succeeded", "failed", "retried", "revoked", "rejected" }
            .ToFrozenDictionary(s => s, s => "task-" + s, StringComparer.Ordinal);

    /// <summary>The event's type; Celery's own types without a new string per event.</summary>
    private static string EventType(string subject) =>
        CeleryEventTypes.TryGetValue(subject, out var type) ? type : "task-" + subject;

    /// <summary>Celery's eta is an ISO 8601 string; without an offset it is taken as UTC.</summary>
    private static double? EtaEpoch(string raw) =>
        RawJson.AsString(raw) is { } text && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeMilliseconds() / 1000.0
            : null;
}
