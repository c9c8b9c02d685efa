using ActorMonitor.Celery.Events;
using ActorMonitor.Cluster.Receiver;
using Akka.Actor;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>
/// Feeds broker messages (or capture lines) to the receiver with flow control: at most
/// <c>window</c> messages are in flight, each freed when its events are applied. Unbounded
/// Tell would flood the shard regions' buffers and mailboxes.
/// </summary>
public sealed class IngestClient : IAsyncDisposable
{
    private readonly SemaphoreSlim _window;
    private readonly int _size;
    private readonly IActorRef _receiver;
    private readonly IActorRef _relay;
    private long _nextId;

    public IngestClient(ActorSystem system, IActorRef receiver, int window, Action<long>? onApplied = null)
    {
        _size = window;
        _window = new SemaphoreSlim(window, window);
        _receiver = receiver;
        _relay = system.ActorOf(Props.Create(() => new AppliedRelay(_window, onApplied)));
    }

    /// <summary>Waits for room in the window, then hands the message to the receiver; returns its delivery id.</summary>
    public async ValueTask<long> SendAsync(string routingKey, DecodedMessage message, double? localReceived = null, CancellationToken ct = default)
    {
        await _window.WaitAsync(ct);
        var id = Interlocked.Increment(ref _nextId);
        _receiver.Tell(new IngestMessage(id, routingKey, message, localReceived), _relay);
        return id;
    }

    /// <summary>Completes when every message sent so far has been applied.</summary>
    public async Task WhenAllAppliedAsync(CancellationToken ct = default)
    {
        for (var i = 0; i < _size; i++) await _window.WaitAsync(ct);
        _window.Release(_size);
    }

    public ValueTask DisposeAsync()
    {
        _relay.Tell(PoisonPill.Instance);
        return ValueTask.CompletedTask;
    }

    private sealed class AppliedRelay : ReceiveActor
    {
        public AppliedRelay(SemaphoreSlim window, Action<long>? onApplied) =>
            Receive<MessageApplied>(m =>
            {
                onApplied?.Invoke(m.DeliveryId);
                window.Release();
            });
    }
}
