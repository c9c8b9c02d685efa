using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Tests;

public class TaskStateTests
{
    private static readonly string[] Incoming =
        ["task-sent", "task-received", "task-started", "task-rejected", "task-retried", "task-revoked", "task-failed", "task-succeeded", "task-progress"];

    // celery-events-protocol.md 4.4, generated there by running Celery's code:
    // a state name = the state after the event ("=" in the doc: applied),
    // M = merge (state kept, every field copied), R = merge under the RECEIVED rule.
    private static readonly Dictionary<string, string[]> Matrix = new()
    {
        ["PENDING"] = ["PENDING", "RECEIVED", "STARTED", "REJECTED", "RETRY", "REVOKED", "FAILURE", "SUCCESS", "PROGRESS"],
        ["RECEIVED"] = ["M", "RECEIVED", "STARTED", "M", "RETRY", "REVOKED", "FAILURE", "SUCCESS", "PROGRESS"],
        ["STARTED"] = ["M", "R", "STARTED", "M", "RETRY", "REVOKED", "FAILURE", "SUCCESS", "PROGRESS"],
        ["REJECTED"] = ["M", "RECEIVED", "STARTED", "REJECTED", "RETRY", "REVOKED", "FAILURE", "SUCCESS", "PROGRESS"],
        ["RETRY"] = ["PENDING", "RECEIVED", "STARTED", "REJECTED", "RETRY", "REVOKED", "FAILURE", "SUCCESS", "PROGRESS"],
        ["REVOKED"] = ["M", "R", "M", "M", "RETRY", "REVOKED", "FAILURE", "SUCCESS", "PROGRESS"],
        ["FAILURE"] = ["M", "R", "M", "M", "RETRY", "M", "FAILURE", "SUCCESS", "M"],
        ["SUCCESS"] = ["M", "R", "M", "M", "RETRY", "M", "M", "SUCCESS", "M"],
        ["PROGRESS"] = ["M", "R", "M", "M", "RETRY", "M", "FAILURE", "SUCCESS", "PROGRESS"],
    };

    private static readonly Dictionary<string, string> EventFor = new()
    {
        ["PENDING"] = "task-sent", ["RECEIVED"] = "task-received", ["STARTED"] = "task-started",
        ["REJECTED"] = "task-rejected", ["RETRY"] = "task-retried", ["REVOKED"] = "task-revoked",
        ["FAILURE"] = "task-failed", ["SUCCESS"] = "task-succeeded", ["PROGRESS"] = "task-progress",
    };

    public static IEnumerable<object[]> Cells() =>
        from current in Matrix.Keys
        from i in Enumerable.Range(0, Incoming.Length)
        select new object[] { current, Incoming[i], Matrix[current][i] };

    [Theory]
    [MemberData(nameof(Cells))]
    public void Precedence_and_merge_matrix(string current, string incoming, string expected)
    {
        var task = new TaskState("u1");
        task.Apply(Events.Task(EventFor[current], 100, "\"name\": \"old\", \"result\": \"old\"", clock: 10));
        Assert.Equal(current, task.State);

        task.Apply(Events.Task(incoming, 50, "\"name\": \"new\", \"result\": \"new\", \"retries\": 3", clock: 7));

        var subject = incoming["task-".Length..];
        if (TaskStates.ForSubject(subject) is not null)
            Assert.Equal("50", task[subject]); // the subject's timestamp attribute is always set

        switch (expected)
        {
            case "M": // state kept; every event key copied, timestamp and clock included
                Assert.Equal(current, task.State);
                Assert.Equal(("\"new\"", "\"new\"", "50", "7"), (task["name"], task["result"], task["timestamp"], task["clock"]));
                break;
            case "R": // state, timestamp and clock kept; only the RECEIVED merge-rule keys copied
                Assert.Equal(current, task.State);
                Assert.Equal(("\"new\"", "3", "\"old\"", "100", "10"), (task["name"], task["retries"], task["result"], task["timestamp"], task["clock"]));
                break;
            default: // applied: new state and timestamp, every key copied
                Assert.Equal(expected, task.State);
                Assert.Equal(("\"new\"", "\"new\"", "50", "7"), (task["name"], task["result"], task["timestamp"], task["clock"]));
                break;
        }
    }

    [Fact]
    public void A_late_task_sent_after_retry_gives_pending()
    {
        var task = new TaskState("u1");
        task.Apply(Events.Task("task-succeeded", 10));
        task.Apply(Events.Task("task-retried", 11));
        Assert.Equal("RETRY", task.State);
        task.Apply(Events.Task("task-sent", 12));
        Assert.Equal("PENDING", task.State);
    }

    [Fact]
    public void Custom_subject_sets_no_timestamp_attribute_and_its_state_is_upper_case()
    {
        var task = new TaskState("u1");
        task.Apply(Events.Task("task-progress", 10, "\"current\": 1"));
        Assert.Equal("PROGRESS", task.State);
        Assert.Null(task["progress"]);
        Assert.True(task.Exists);
    }

    [Fact]
    public void Client_comes_from_task_sent_and_worker_from_every_other_event()
    {
        var task = new TaskState("u1");
        task.Apply(Events.Task("task-sent", 1, hostname: "gen1@h"));
        Assert.Equal(("\"gen1@h\"", (string?)null), (task["client"], task.Worker));
        task.Apply(Events.Task("task-received", 2, hostname: "w1@h"));
        task.Apply(Events.Task("task-sent", 3, hostname: "gen2@h"));
        Assert.Equal(("\"gen2@h\"", "w1@h"), (task["client"], task.Worker));
    }

    [Fact]
    public void A_state_field_in_a_merged_event_overwrites_the_state_as_in_celery()
    {
        var task = new TaskState("u1");
        task.Apply(Events.Task("task-succeeded", 10));
        task.Apply(Events.Task("task-progress", 11, "\"state\": \"working\""));
        Assert.Equal("working", task.State);
        var applied = new TaskState("u2");
        applied.Apply(Events.Task("task-progress", 11, "\"state\": \"working\"", uuid: "u2"));
        Assert.Equal("PROGRESS", applied.State);
    }

    [Fact]
    public void Children_are_a_sorted_set()
    {
        var task = new TaskState("p");
        Assert.True(task.AddChild("b"));
        Assert.True(task.AddChild("a"));
        Assert.False(task.AddChild("b"));
        Assert.Equal(["a", "b"], task.Children);
    }

    [Fact]
    public void Untouched_task_has_celery_defaults()
    {
        var task = new TaskState("u1");
        Assert.False(task.Exists);
        Assert.Equal(("PENDING", "0", (string?)null), (task.State, task["clock"], task["name"]));
    }
}
