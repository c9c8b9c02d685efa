using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;

namespace ActorMonitor.Cluster.Metrics;

/// <summary>Asks for the dashboard's chart buckets from <paramref name="Since"/> (epoch seconds); answered with <see cref="Charts"/>.</summary>
public sealed record GetCharts(double? Since);

/// <summary>The chart buckets as JSON (see <see cref="ChartSeries.Write"/>).</summary>
public sealed record Charts(string Json);

/// <summary>
/// One per monitor node: listens to every node's live batches on <see cref="LiveFeed.Topic"/>,
/// keeps them as <see cref="ChartSeries"/> and, every tick, pushes the last two buckets to this
/// node's <see cref="LiveFeed"/> listeners as a "chart" message when they changed. Two, so the
/// final figures of a bucket that just closed reach every page; a page replaces buckets by their
/// start time, so a bucket pushed twice is never counted twice.
/// </summary>
public sealed class ChartActor : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private readonly ChartSeries _series;
    private readonly LiveFeed _live;
    private readonly Func<double> _now;
    private readonly TimeSpan _tick;
    private readonly IActorRef _mediator;
    private long _pushed = -1;

    public ITimerScheduler Timers { get; set; } = null!;

    public ChartActor(ChartSeries series, LiveFeed live, Func<double> now, IActorRef mediator, TimeSpan tick)
    {
        _series = series;
        _live = live;
        _now = now;
        _mediator = mediator;
        _tick = tick;
        Receive<string>(batch => _series.AddBatch(batch, _now()));
        Receive<Tick>(_ => OnTick());
        Receive<GetCharts>(g => Sender.Tell(new Charts(Render(g.Since))));
        Receive<SubscribeAck>(_ => { });
        Receive<FeedPresence>(_ => { });
    }

    public static Props Props(ChartSeries series, LiveFeed live, Func<double> now, IActorRef mediator, TimeSpan? tick = null) =>
        Akka.Actor.Props.Create(() => new ChartActor(series, live, now, mediator, tick ?? TimeSpan.FromSeconds(1)));

    protected override void PreStart()
    {
        _mediator.Tell(new Subscribe(LiveFeed.Topic, Self));
        Timers.StartPeriodicTimer("tick", Tick.Instance, _tick);
    }

    private void OnTick()
    {
        var now = _now();
        _series.Sample(now);
        if (_series.Version == _pushed || _live.Listeners == 0) return;
        _pushed = _series.Version;
        _live.Publish(LiveFeed.ChartEvent, Render(now - _series.Step));
    }

    private string Render(double? since)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) _series.Write(w, _now(), since);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
