using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Store;
using Akka.Actor;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>The receiver asks: make this cut durable (the keepers' rows, then the counters in the journal).</summary>
public sealed record CoverCut(long Id, ReceiverCheckpoint State, ReceiverRow Row, IReadOnlyCollection<Address> Keepers);

/// <summary>Every keeper committed and the journal holds the cut's counters.</summary>
public sealed record CutDurable(long Id);

/// <param name="Membership">A node stopped answering or left: expected while the cluster heals.</param>
public sealed record CutFailed(long Id, string Reason, bool Membership);

/// <summary>A monitor node was removed from the cluster: a cut waiting for its keeper fails now.</summary>
public sealed record KeeperLeft(Address Node);

/// <summary>
/// The receiver's checkpoints, one at a time: the other nodes' keepers that may hold the cut's
/// events commit their rows, then this node's keeper commits its own with the receiver's row in the
/// same transaction, then the counters go to the receiver's journal. Keepers that do not answer
/// within the timeout, or leave, fail the cut; the receiver retries with its next one. A child of
/// the receiver.
/// </summary>
/// <remarks>
/// The receiver's row says which messages it counted, and a node that gets one of them again
/// after this node's loss skips it. So the row is written last: once it is, every event of
/// those messages is in a row on whichever node held it.
/// </remarks>
public sealed class CheckpointCoordinator : UntypedActor, IWithTimers
{
    private sealed record Pending(CoverCut Cut, HashSet<Address> Awaited);

    private sealed record Timeout(long Id);

    private sealed record RestartJournal
    {
        public static readonly RestartJournal Instance = new();
    }

    private readonly IActorRef _keeper;
    private readonly CheckpointSettings _settings;
    private readonly Address _self;
    private IActorRef _journal = ActorRefs.Nobody;
    private Pending? _pending;
    private bool _persistOnRestart;

    public CheckpointCoordinator(IActorRef keeper, CheckpointSettings settings, Address self)
    {
        _keeper = keeper;
        _settings = settings;
        _self = self;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef keeper, CheckpointSettings settings, Address self) =>
        Akka.Actor.Props.Create(() => new CheckpointCoordinator(keeper, settings, self));

    /// <summary>The keeper's actor name on every monitor node.</summary>
    public const string KeeperName = "state-keeper";

    protected override void PreStart() => StartJournal();

    private void StartJournal() => _journal = Context.Watch(Context.ActorOf(CheckpointJournal.Props(_settings.NodeName, _settings.SnapshotEvery)));

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case CoverCut c:
                Start(c);
                break;
            case CheckpointCommitted c when _pending?.Cut.Id == c.Id:
                // A keeper heard from already changes nothing: this node's keeper is asked once, the journal written once.
                if (!_pending.Awaited.Remove(KeeperAddress(Sender))) break;
                if (_pending.Awaited.Count == 0) Persist();
                else if (_pending.Awaited.Count == 1 && _pending.Awaited.Contains(_self)) AskOwnKeeper();
                break;
            case CheckpointFailed f when _pending?.Cut.Id == f.Id:
                Fail(f.Reason, membership: false);
                break;
            case Timeout t when _pending?.Cut.Id == t.Id && _pending.Awaited.Count > 0:
                // This node's keeper is asked only after the others: name it only when it is the one silent.
                var silent = _pending.Awaited.Count == 1 ? _pending.Awaited : _pending.Awaited.Where(a => !a.Equals(_self));
                Fail($"no answer within {_settings.Timeout.TotalSeconds} s from the keeper on {string.Join(", ", silent)}", membership: true);
                break;
            case KeeperLeft k when _pending is { } p && p.Awaited.Contains(k.Node):
                Fail($"node {k.Node} left while the checkpoint waited for its keeper", membership: true);
                break;
            case CheckpointPersisted p when _pending?.Cut.Id == p.Id:
                Context.Parent.Tell(new CutDurable(p.Id));
                _pending = null;
                break;
            case Terminated t when t.ActorRef.Equals(_journal):
                _journal = ActorRefs.Nobody;
                if (_pending is { Awaited.Count: 0 }) Fail("the checkpoint journal stopped (see the persistence error above)", membership: false);
                Timers.StartSingleTimer("restart-journal", RestartJournal.Instance, TimeSpan.FromSeconds(1));
                break;
            case RestartJournal:
                StartJournal();
                if (_persistOnRestart) Persist();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Start(CoverCut cut)
    {
        _pending = new Pending(cut, [.. cut.Keepers, _self]);
        var others = cut.Keepers.Where(a => !a.Equals(_self)).ToList();
        foreach (var node in others)
            Context.ActorSelection(new RootActorPath(node) / "user" / KeeperName).Tell(new Checkpoint(cut.Id));
        if (others.Count == 0) AskOwnKeeper();
        Timers.StartSingleTimer("timeout", new Timeout(cut.Id), _settings.Timeout);
    }

    private void AskOwnKeeper() => _keeper.Tell(new Checkpoint(_pending!.Cut.Id, _pending.Cut.Row));

    private void Persist()
    {
        Timers.Cancel("timeout");
        // The journal restarts after a failure: the cut waits for it rather than failing again.
        _persistOnRestart = _journal.IsNobody();
        if (!_persistOnRestart) _journal.Tell(new PersistCheckpoint(_pending!.Cut.Id, _pending.Cut.State));
    }

    private void Fail(string reason, bool membership)
    {
        Timers.Cancel("timeout");
        Context.Parent.Tell(new CutFailed(_pending!.Cut.Id, reason, membership));
        _pending = null;
        _persistOnRestart = false;
    }

    private Address KeeperAddress(IActorRef keeper) => keeper.Path.Address.HasGlobalScope ? keeper.Path.Address : _self;
}
