using ActorMonitor.Celery.State;

namespace ActorMonitor.Store.Queries;

/// <summary>The task times a query can filter a range of (the columns of the stored row).</summary>
public enum TaskTimeField { Received, Started, Succeeded, Failed, Timestamp }

/// <summary>
/// What a page of tasks is ordered by. A task without the value sorts as the lowest value (as
/// Flower's <c>getattr(task, f) or type()</c> does). Ties, and <see cref="Recent"/> itself,
/// follow Celery's task heap: a task ranks by its event with the highest (Lamport clock,
/// origin), then by arrival, so that a sort keeps Flower's order among equal values.
/// </summary>
public enum TaskSortField { Received, Started, Succeeded, Failed, Timestamp, Name, State, Recent }

/// <summary>
/// A filtered, sorted page of tasks over every task the store holds. Every filter is optional;
/// all of them must hold. Text is compared exactly (case-sensitive, ordinal).
/// </summary>
public sealed record TaskQuery
{
    public const int MaxLimit = 1000;

    /// <summary>Deeper pages cost a scan of everything before them: narrow the time range instead.</summary>
    public const int MaxOffset = 100_000;

    public const int MaxSearchLength = 256;

    public string? State { get; init; }
    public string? Name { get; init; }

    /// <summary>The worker of the task's last worker event (the one that received or ran it).</summary>
    public string? Worker { get; init; }

    public TaskTimeField TimeField { get; init; } = TaskTimeField.Received;

    /// <summary>Epoch seconds, inclusive. A task without the time field does not match a range (unless <see cref="Lenient"/>).</summary>
    public double? Since { get; init; }

    public double? Until { get; init; }

    /// <summary>A substring of the task's args, kwargs, result or exception (the text Celery sent).</summary>
    public string? Search { get; init; }

    /// <summary>Flower's search terms (flower/utils/search.py), when the query comes from Flower's API.</summary>
    public FlowerSearch? FlowerTerms { get; init; }

    public TaskSortField Sort { get; init; } = TaskSortField.Received;
    public bool Descending { get; init; } = true;
    public int Limit { get; init; } = 50;
    public int Offset { get; init; }

    /// <summary>
    /// Flower's filters (flower/utils/tasks.py iter_tasks): a task no worker touched passes the
    /// worker filter, and a task without a received time passes the received range.
    /// </summary>
    public bool Lenient { get; init; }

    /// <summary>The same filter without a page: what counts are computed over.</summary>
    public static readonly TaskQuery All = new();

    /// <summary>Null when the query is within the limits, else why not.</summary>
    public string? Validate()
    {
        if (Limit is < 1 or > MaxLimit) return $"limit must be in 1..{MaxLimit}";
        if (Offset is < 0 or > MaxOffset) return $"offset must be in 0..{MaxOffset}";
        if (Search is { Length: > MaxSearchLength }) return $"search must be at most {MaxSearchLength} characters";
        if (Since is { } s && !double.IsFinite(s) || Until is { } u && !double.IsFinite(u)) return "since and until must be finite epoch seconds";
        return null;
    }
}

/// <summary>One page of tasks, in the oracle's schema, and how many tasks the filter matches in all.</summary>
public sealed record TaskPage(long Total, int Limit, int Offset, IReadOnlyList<TaskSnapshot> Tasks);

/// <summary>How many tasks match a filter, in all and by state, by name and by worker (tasks without a name or worker count in the total only).</summary>
public sealed record TaskCounts(
    long Total,
    IReadOnlyDictionary<string, long> ByState,
    IReadOnlyDictionary<string, long> ByName,
    IReadOnlyDictionary<string, long> ByWorker);
