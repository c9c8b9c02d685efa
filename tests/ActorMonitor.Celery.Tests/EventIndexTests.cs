using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Tests;

public class EventIndexTests
{
    private static IndexEntry Entry(string type, string hostname, string? uuid = null, long clock = 1, double ts = 1, string? name = null, string? pid = null)
    {
        var dash = type.IndexOf('-');
        return new IndexEntry(type[..dash], type[(dash + 1)..], hostname, uuid, clock, ts, name, pid);
    }

    [Fact]
    public void Counts_follow_celery_event_count_on_every_event_and_task_count_on_received()
    {
        var index = new EventIndex();
        index.Apply(Entry("task-sent", "gen1@h", "a", name: "t.add"));
        index.Apply(Entry("task-received", "w@h", "a", name: "t.add"));
        index.Apply(Entry("task-received", "w@h", "a"));
        index.Apply(Entry("worker-heartbeat", "w@h"));
        index.Apply(new IndexEntry("myapp", "x", null, null, 0, 0, null, null));
        Assert.Equal(5, index.EventCount);
        Assert.Equal(2, index.TaskCount);
        Assert.Equal(["t.add"], index.TaskTypes);
    }

    [Fact]
    public void Workers_are_known_from_worker_events_and_task_events_but_not_from_offline_alone()
    {
        var index = new EventIndex();
        index.Apply(Entry("worker-offline", "gone@h"));
        index.Apply(Entry("task-sent", "gen@h", "a"));
        index.Apply(Entry("task-started", "w1@h", "a"));
        index.Apply(Entry("worker-online", "w2@h", pid: "7"));
        Assert.Equal(["w1@h", "w2@h"], index.WorkerHostnames.Order());
    }

    [Fact]
    public void Heap_order_uses_clocks_then_origin_and_timestamps_when_a_clock_is_zero()
    {
        var index = new EventIndex();
        index.Apply(Entry("worker-online", "w@h", pid: "10"));
        index.Apply(Entry("task-received", "w@h", "a", clock: 5, ts: 50));
        index.Apply(Entry("task-received", "w@h", "b", clock: 3, ts: 60));
        index.Apply(Entry("task-received", "v@h", "c", clock: 5, ts: 10)); // ties on clock 5: "v@h.None" < "w@h.10"
        index.Apply(Entry("task-sent", "gen@h", "d", clock: 0, ts: 55));   // zero clock: timestamps
        Assert.Equal(["d", "a", "c", "b"], index.Timeline.TasksByTime());
    }

    [Fact]
    public void Tasks_by_time_lists_each_task_at_its_latest_entry()
    {
        var t = new TaskTimeline();
        t.Add(1, 1, "o", "a");
        t.Add(2, 2, "o", "b");
        t.Add(3, 3, "o", "a");
        Assert.Equal(["a", "b"], t.TasksByTime());
        Assert.Equal(["a"], t.TasksByTime(limit: 1));
    }

    [Fact]
    public void Timeline_capacity_drops_the_oldest_entry_first()
    {
        var t = new TaskTimeline(maxEntries: 2);
        t.Add(1, 1, "o", "a");
        t.Add(2, 2, "o", "b");
        t.Add(3, 3, "o", "c");
        Assert.Equal(["c", "b"], t.TasksByTime());
    }

    [Theory]
    [InlineData(null, "None")]
    [InlineData("1000", "1000")]
    [InlineData("1000.0", "1000.0")]
    [InlineData("\"abc\"", "abc")]
    [InlineData("true", "True")]
    [InlineData("[1, \"a\"]", "[1, 'a']")]
    [InlineData("1e20", "1e+20")]
    public void Python_str_of_a_pid(string? raw, string expected) => Assert.Equal(expected, RawJson.PythonStr(raw));
}
