using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.Receiver;

namespace ActorMonitor.Celery.Tests;

public class ReceiverRulesTests
{
    private static CeleryEvent Ev(string json) => Events.Decode(json);

    [Fact]
    public void Task_sent_clock_is_replaced_by_the_receiver_clock_minus_one_then_adjusted()
    {
        // Verified against Celery from a fresh clock: body clocks 0, 0, 1 and clock values 1, 2, 3.
        var rules = new ReceiverRules(() => 0);
        var seen = new List<(long body, long value)>();
        for (var i = 0; i < 3; i++)
        {
            var ev = Ev("""{"type": "task-sent", "uuid": "u", "hostname": "gen1@h", "clock": 999, "timestamp": 1}""");
            rules.Apply(ev, 10);
            seen.Add((ev.Clock!.Value, rules.Clock.Value));
        }
        Assert.Equal([(0L, 1L), (0L, 2L), (1L, 3L)], seen);
    }

    [Fact]
    public void Other_events_adjust_the_clock_and_keep_their_own()
    {
        var rules = new ReceiverRules(() => 0);
        var ev = Ev("""{"type": "task-started", "uuid": "u", "hostname": "w", "clock": 40, "timestamp": 1}""");
        rules.Apply(ev, 10);
        Assert.Equal(40, ev.Clock);
        Assert.Equal(41, rules.Clock.Value);
        var older = Ev("""{"type": "task-started", "uuid": "u", "hostname": "w", "clock": 5, "timestamp": 1}""");
        rules.Apply(older, 10);
        Assert.Equal(5, older.Clock);
        Assert.Equal(42, rules.Clock.Value);
    }

    [Fact]
    public void An_event_without_clock_gets_the_forwarded_receiver_clock()
    {
        var rules = new ReceiverRules(() => 0, new LamportClock(7));
        var ev = Ev("""{"type": "worker-heartbeat", "hostname": "w", "timestamp": 1}""");
        rules.Apply(ev, 10);
        Assert.Equal(8, ev.Clock);
        Assert.Equal(8, rules.Clock.Value);
    }

    [Theory]
    [InlineData(0, 0, 1000.5)]          // same zone: no-op
    [InlineData(-1, 0, 1000.5 + 3600)]  // Berlin sender, UTC receiver: ts - (-1 - 0) * 3600
    [InlineData(5, -1, 1000.5 - 6 * 3600)]
    [InlineData(-6, -6, 1000.5)]
    public void Timestamp_is_adjusted_by_the_utcoffset_rule(long sender, long here, double expected)
    {
        var rules = new ReceiverRules(() => here);
        var ev = Ev($$"""{"type": "worker-heartbeat", "hostname": "w", "utcoffset": {{sender}}, "timestamp": 1000.5}""");
        rules.Apply(ev, 2000);
        Assert.Equal(expected, ev.Timestamp);
        Assert.Equal(2000, ev.LocalReceived);
    }

    [Fact]
    public void Timestamp_is_left_alone_without_utcoffset()
    {
        var rules = new ReceiverRules(() => 3);
        var ev = Ev("""{"type": "worker-heartbeat", "hostname": "w", "timestamp": 1000.5}""");
        rules.Apply(ev, 2000);
        Assert.Equal(1000.5, ev.Timestamp);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(-3600, 1)]           // New York winter (UTC-5 is -18000 s east) -> 5 below
    [InlineData(-18000, 5)]
    [InlineData(-14400, 4)]
    [InlineData(3600, -1)]           // Berlin winter
    [InlineData(19800, -6)]          // Kolkata +5:30: floor(-5.5) = -6
    [InlineData(-12600, 3)]          // Newfoundland -3:30: floor(3.5) = 3
    public void Utcoffset_is_hours_west_floor_divided(double secondsEast, long expected) =>
        Assert.Equal(expected, UtcOffset.FromSecondsEast(secondsEast));
}
