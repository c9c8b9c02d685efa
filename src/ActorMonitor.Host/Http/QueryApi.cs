using System.Globalization;
using System.Text.Json;
using ActorMonitor.Celery.Output;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Store.Queries;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static ActorMonitor.Host.Http.QueryArgs;

namespace ActorMonitor.Host.Http;

/// <summary>
/// Our query API over every task the store holds, tasks in the oracle's schema (as <c>tasks[uuid]</c>
/// of <c>/api/state</c>): <c>/api/query/tasks</c>, <c>/api/query/counts</c>, <c>/api/query/task/{uuid}</c>.
/// Lists are read from the store as of the last checkpoint (<c>fresh=true</c>: after a checkpoint of
/// every node). A request outside the limits, or with a parameter the route does not take, is
/// answered 400 with <c>{"error": why}</c>. Each route's parameters and an example answer:
/// docs/http-api.md. Flower's routes: <see cref="FlowerQueryApi"/>.
/// </summary>
public static class QueryApi
{
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

    public static WebApplication MapQueryApi(this WebApplication app, MonitorNode node)
    {
        var queries = node.Queries;

        Get(app, "/api/query/tasks", http => Guarded(http, async () =>
        {
            Known(http.Request.Query, PagedParameters);
            var q = await ParseOurs(http.Request.Query, queries, http.RequestAborted, paged: true);
            var page = await queries.TasksAsync(q, Fresh(http.Request.Query), http.RequestAborted);
            return Json(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("total", page.Total);
                w.WriteNumber("limit", page.Limit);
                w.WriteNumber("offset", page.Offset);
                w.WriteStartArray("tasks");
                foreach (var t in page.Tasks) StateDocument.WriteTask(w, t);
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }));

        Get(app, "/api/query/counts", http => Guarded(http, async () =>
        {
            Known(http.Request.Query, FilterParameters);
            var q = await ParseOurs(http.Request.Query, queries, http.RequestAborted, paged: false);
            var counts = await queries.CountsAsync(q, Fresh(http.Request.Query), http.RequestAborted);
            return Json(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("total", counts.Total);
                WriteCounts(w, "by_state", counts.ByState);
                WriteCounts(w, "by_name", counts.ByName);
                WriteCounts(w, "by_worker", counts.ByWorker);
                w.WriteEndObject();
            });
        }));

        // One task in the oracle's schema (what `actormonitor state --task` prints), from its entity.
        Get(app, "/api/query/task/{uuid}", http => Guarded(http, async () =>
        {
            Known(http.Request.Query, []);
            var uuid = (string)http.Request.RouteValues["uuid"]!;
            var task = await queries.TaskAsync(uuid);
            return task is null ? Results.NotFound(new { error = $"unknown task {uuid}" }) : Json(w => StateDocument.WriteTask(w, task));
        }));

        return app;
    }

    private static readonly string[] FilterParameters = ["state", "name", "worker", "time_field", "since", "until", "search", "fresh"];
    private static readonly string[] PagedParameters = [.. FilterParameters, "sort", "order", "limit", "offset"];

    /// <summary>Our routes answer 400 to a parameter they do not use, rather than answer as if it were not there.</summary>
    private static void Known(IQueryCollection query, string[] names)
    {
        foreach (var key in query.Keys)
            if (!names.Contains(key, StringComparer.Ordinal))
                throw new BadRequest(names.Length == 0
                    ? $"unknown parameter '{key}': this route takes none"
                    : $"unknown parameter '{key}': this route takes {string.Join(", ", names)}");
    }

    private static async Task<TaskQuery> ParseOurs(IQueryCollection query, StateQueries queries, CancellationToken ct, bool paged)
    {
        var q = new TaskQuery
        {
            State = await State(query, "state", queries, ct),
            Name = One(query, "name"),
            Worker = One(query, "worker"),
            TimeField = One(query, "time_field") is { } tf
                ? TimeFields.TryGetValue(tf, out var f) ? f : throw new BadRequest($"time_field must be one of {string.Join(", ", TimeFields.Keys)}")
                : TaskTimeField.Received,
            Since = Epoch(query, "since"),
            Until = Epoch(query, "until"),
            Search = One(query, "search"),
            Sort = One(query, "sort") is { } s
                ? SortFields.TryGetValue(s, out var sf) ? sf : throw new BadRequest($"unknown sort field '{s}': one of {string.Join(", ", SortFields.Keys)}")
                : TaskSortField.Received,
            Descending = One(query, "order") switch
            {
                null or "desc" => true,
                "asc" => false,
                var o => throw new BadRequest($"order must be asc or desc, not '{o}'"),
            },
            Limit = Int(query, "limit") ?? 50,
            Offset = Int(query, "offset") ?? 0,
        };
        if (!paged) q = q with { Limit = 1, Offset = 0 };
        return q.Validate() is { } error ? throw new BadRequest(error) : q;
    }

    private static async Task<string?> State(IQueryCollection query, string name, StateQueries queries, CancellationToken ct)
    {
        var state = One(query, name);
        if (state is not null && !await queries.IsKnownStateAsync(state, ct))
            throw new BadRequest($"unknown state '{state}': neither one of Celery's states nor the state of a stored task");
        return state;
    }

    private static double? Epoch(IQueryCollection query, string name) =>
        One(query, name) is { } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw new BadRequest($"{name} must be epoch seconds, not '{text}'")
            : null;

    private static void WriteCounts(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, long> counts)
    {
        w.WriteStartObject(name);
        foreach (var (key, n) in counts) w.WriteNumber(key, n);
        w.WriteEndObject();
    }
}
