using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Ingest;
using ActorMonitor.Cluster.Receiver;
using Akka.Actor;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>
/// Feeds broker messages (or capture lines) to the receiver with flow control: at most
/// <c>window</c> messages are in flight; a sender that reaches the window waits until half of it
/// has been applied. Unbounded Tell would flood the shard regions' buffers and mailboxes.
/// Applied messages are held (with their events) until a checkpoint covers them, and so are the
/// rows of their entities, which cannot passivate before: at most <c>maxUndurable</c> messages
/// are applied and not yet durable, as the broker's prefetch bounds a live node's unacked
/// messages. Without it a replay or a benchmark outruns the store and memory grows with it.
/// </summary>
public sealed class IngestClient : IIngestFeed
{
    private readonly int _window;
    private readonly IActorRef _receiver;
    private readonly IActorRef _relay;
    private readonly object _gate = new();
    private long _inFlight;
    private long _nextId;
    private TaskCompletionSource? _room; // completed when in-flight falls to half the window
    private TaskCompletionSource? _idle; // completed when nothing is in flight
    private readonly long _maxUndurable;
    private long _undurable;
    private TaskCompletionSource? _durableRoom; // completed when a checkpoint made room

    /// <param name="onDurable">Called with deliveries a checkpoint covers: the moment a broker source may ack them.</param>
    public IngestClient(ActorSystem system, IActorRef receiver, int window, Action<long>? onApplied = null, Action<IReadOnlyList<long>>? onDurable = null,
        int maxUndurable = int.MaxValue)
    {
        _window = Math.Max(1, window);
        _maxUndurable = Math.Max(_window, maxUndurable);
        _receiver = receiver;
        _relay = system.ActorOf(Props.Create(() => new AppliedRelay(this, onApplied, onDurable)));
    }

    /// <summary>Waits for room in the window, then hands the message to the receiver; returns its delivery id.</summary>
    public ValueTask<long> SendAsync(string routingKey, DecodedMessage message, double? localReceived = null, CancellationToken ct = default) =>
        SendAsync(routingKey, message, localReceived, Interlocked.Increment(ref _nextId), ct);

    /// <summary>As above, with the caller's own delivery id (the one <c>onApplied</c> is called with).</summary>
    public async ValueTask<long> SendAsync(string routingKey, DecodedMessage message, double? localReceived, long deliveryId, CancellationToken ct, bool redelivered = false)
    {
        while (Interlocked.Read(ref _inFlight) >= _window)
        {
            Task wait;
            lock (_gate)
            {
                if (_inFlight < _window) break;
                wait = (_room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            await wait.WaitAsync(ct);
        }
        while (Interlocked.Read(ref _undurable) >= _maxUndurable)
        {
            Task wait;
            lock (_gate)
            {
                if (_undurable < _maxUndurable) break;
                wait = (_durableRoom ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            await wait.WaitAsync(ct);
        }
        Interlocked.Increment(ref _undurable);
        Interlocked.Increment(ref _inFlight);
        _receiver.Tell(new IngestMessage(deliveryId, routingKey, message, localReceived, redelivered), _relay);
        return deliveryId;
    }

    /// <summary>Completes when every message sent so far has been applied.</summary>
    public Task WhenAllAppliedAsync(CancellationToken ct = default)
    {
        lock (_gate)
        {
            if (_inFlight == 0) return Task.CompletedTask;
            return (_idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(ct);
        }
    }

    private void Applied()
    {
        var left = Interlocked.Decrement(ref _inFlight);
        if (left > _window / 2 && left > 0) return;
        lock (_gate)
        {
            if (_room is not null && _inFlight <= _window / 2)
            {
                _room.TrySetResult();
                _room = null;
            }
            if (_idle is not null && _inFlight == 0)
            {
                _idle.TrySetResult();
                _idle = null;
            }
        }
    }

    private void Durable(int count)
    {
        Interlocked.Add(ref _undurable, -count);
        lock (_gate)
        {
            if (_durableRoom is null || _undurable >= _maxUndurable) return;
            _durableRoom.TrySetResult();
            _durableRoom = null;
        }
    }

    public ValueTask DisposeAsync()
    {
        _relay.Tell(PoisonPill.Instance);
        return ValueTask.CompletedTask;
    }

    private sealed class AppliedRelay(IngestClient client, Action<long>? onApplied, Action<IReadOnlyList<long>>? onDurable) : UntypedActor
    {
        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case MessageApplied m:
                    onApplied?.Invoke(m.DeliveryId);
                    client.Applied();
                    break;
                case MessagesDurable d:
                    onDurable?.Invoke(d.DeliveryIds);
                    client.Durable(d.DeliveryIds.Count);
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }
    }
}
