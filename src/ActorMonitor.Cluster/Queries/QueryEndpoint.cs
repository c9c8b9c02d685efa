using ActorMonitor.Client;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Store.Queries;
using Akka.Actor;

namespace ActorMonitor.Cluster.Queries;

/// <summary>
/// The public query messages' endpoint on every monitor node (<c>/user/query-api</c>): task pages,
/// counts, the worker list and this node's counters, as <c>/api/query/*</c> and <c>/api/stats</c>
/// answer them (same parameters, same limits, same answers), over <see cref="StateQueries"/>. The
/// queries run on the thread pool and are piped back, so the actor never waits. GetTask and
/// GetWorker are forwarded to the shard regions. Registered with the ClusterClient receptionist.
/// </summary>
public sealed class QueryEndpoint : ReceiveActor
{
    public const string Name = "query-api";

    private static readonly Dictionary<string, TaskTimeField> TimeFields = new(StringComparer.Ordinal)
    {
        ["received"] = TaskTimeField.Received, ["started"] = TaskTimeField.Started, ["succeeded"] = TaskTimeField.Succeeded,
        ["failed"] = TaskTimeField.Failed, ["timestamp"] = TaskTimeField.Timestamp,
    };

    private static readonly Dictionary<string, TaskSortField> SortFields = new(StringComparer.Ordinal)
    {
        ["received"] = TaskSortField.Received, ["started"] = TaskSortField.Started, ["succeeded"] = TaskSortField.Succeeded,
        ["failed"] = TaskSortField.Failed, ["timestamp"] = TaskSortField.Timestamp, ["name"] = TaskSortField.Name,
    };

    public static Props Props(MonitorNode node) => Akka.Actor.Props.Create(() => new QueryEndpoint(node));

    public QueryEndpoint(MonitorNode node)
    {
        var queries = node.Queries;
        Receive<GetTasks>(m => Answer(async () =>
        {
            var page = await queries.TasksAsync(await ToQueryAsync(m, queries, paged: true), m.Fresh);
            return new TasksReply(page.Total, page.Limit, page.Offset, page.Tasks);
        }));
        Receive<GetCounts>(m => Answer(async () =>
        {
            var counts = await queries.CountsAsync(await ToQueryAsync(m, queries, paged: false), m.Fresh);
            return new CountsReply(counts.Total, counts.ByState, counts.ByName, counts.ByWorker);
        }));
        Receive<GetWorkers>(m => Answer(async () =>
        {
            if (!double.IsFinite(m.AsOf)) throw new InvalidQuery("as_of must be epoch seconds");
            return new WorkersReply(await queries.WorkersAsync(m.AsOf));
        }));
        Receive<GetStats>(_ => Answer(async () => await queries.StatsAsync()));
        Receive<GetTask>(m => node.Tasks.Forward(m));
        Receive<GetWorker>(m => node.Workers.Forward(m));
    }

    /// <summary>A query outside the limits (HTTP's 400).</summary>
    private sealed class InvalidQuery(string message) : Exception(message);

    private void Answer(Func<Task<object>> query) => Run(query).PipeTo(Sender);

    private static async Task<object> Run(Func<Task<object>> query)
    {
        try
        {
            return await query();
        }
        catch (InvalidQuery ex)
        {
            return new QueryFailed(ex.Message, Invalid: true);
        }
        catch (Exception ex)
        {
            // Fresh needs a checkpoint of every node, and the store may be down: as HTTP's 503.
            return new QueryFailed("the query cannot be answered now: " + ex.GetBaseException().Message, Invalid: false);
        }
    }

    /// <summary>The filter as <c>/api/query/tasks</c> reads its parameters, with the same errors.</summary>
    private static async Task<TaskQuery> ToQueryAsync(TaskFilter m, StateQueries queries, bool paged)
    {
        var state = NullIfEmpty(m.State);
        if (state is not null && !await queries.IsKnownStateAsync(state))
            throw new InvalidQuery($"unknown state '{state}': neither one of Celery's states nor the state of a stored task");
        var q = new TaskQuery
        {
            State = state,
            Name = NullIfEmpty(m.Name),
            Worker = NullIfEmpty(m.Worker),
            TimeField = m.TimeField is { } tf && TimeFields.TryGetValue(tf, out var f)
                ? f : throw new InvalidQuery($"time_field must be one of {string.Join(", ", TimeFields.Keys)}"),
            Since = m.Since,
            Until = m.Until,
            Search = NullIfEmpty(m.Search),
        };
        if (paged && m is GetTasks page)
            q = q with
            {
                Sort = page.Sort is { } sort && SortFields.TryGetValue(sort, out var s)
                    ? s : throw new InvalidQuery($"unknown sort field '{page.Sort}': one of {string.Join(", ", SortFields.Keys)}"),
                Descending = page.Descending,
                Limit = page.Limit,
                Offset = page.Offset,
            };
        else q = q with { Limit = 1, Offset = 0 };
        return q.Validate() is { } error ? throw new InvalidQuery(error) : q;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
