using System.Globalization;
using System.Text.Json;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Rabbit;
using ActorMonitor.Store.Queries;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static ActorMonitor.Host.Http.QueryArgs;

namespace ActorMonitor.Host.Http;

/// <summary>
/// Flower's query API (<c>flower/api/tasks.py</c>, <c>flower/api/workers.py</c> of Flower 2.0.1):
/// <c>/api/tasks</c>, <c>/api/task/info/{uuid}</c>, <c>/api/task/types</c>, <c>/api/workers</c>, with
/// Flower's parameters, semantics and shapes, so Flower clients keep working, over every task the
/// store holds instead of Flower's in-memory window. Each route's parameters and an example answer:
/// docs/http-api.md. Flower's remote-control routes: <see cref="ControlApi"/>.
/// </summary>
public static class FlowerQueryApi
{
    /// <summary>Flower lists every task when no limit is given; a page is bounded here.</summary>
    public const int FlowerDefaultLimit = TaskQuery.MaxLimit;

    /// <summary>Workers a list gives when no limit is asked: any one can publish events under a new name.</summary>
    public const int DefaultWorkerLimit = 1000;

    // flower/utils/tasks.py sort_keys
    private static readonly Dictionary<string, TaskSortField> FlowerSortFields = new(StringComparer.Ordinal)
    {
        ["name"] = TaskSortField.Name, ["state"] = TaskSortField.State, ["received"] = TaskSortField.Received, ["started"] = TaskSortField.Started,
    };

    // celery.events.state.Task._fields, the keys (and their order) of Task.as_dict(), which Flower writes.
    private static readonly string[] FlowerTaskFields =
    [
        "uuid", "name", "state", "received", "sent", "started", "rejected", "succeeded", "failed", "retried", "revoked", "args", "kwargs",
        "eta", "expires", "retries", "worker", "result", "exception", "timestamp", "runtime", "traceback", "exchange", "routing_key",
        "clock", "client", "root", "root_id", "parent", "parent_id", "children",
    ];

    /// <param name="inspector">What the workers said when inspected (Flower's refresh=1); null when the node has no broker to ask.</param>
    public static WebApplication MapFlowerQueryApi(this WebApplication app, MonitorNode node, WorkerInspector? inspector = null)
    {
        var queries = node.Queries;

        // Flower: ListTasks (flower/api/tasks.py) over flower/utils/tasks.py iter_tasks.
        Get(app, "/api/tasks", http => Guarded(http, async () =>
        {
            var q = await ParseFlower(http.Request.Query, queries, http.RequestAborted);
            var page = await queries.TasksAsync(q, Fresh(http.Request.Query), http.RequestAborted);
            return Json(w =>
            {
                w.WriteStartObject();
                foreach (var t in page.Tasks)
                {
                    w.WritePropertyName(t.Uuid);
                    WriteFlowerTask(w, t, workerLast: true);
                }
                w.WriteEndObject();
            });
        }));

        // Flower: TaskInfo. The task's entity answers (restored from its row when passivated): always current.
        app.MapGet("/api/task/info/{uuid}", async (string uuid) =>
        {
            var task = await queries.TaskAsync(uuid);
            return task is null ? Results.NotFound(new { error = $"Unknown task '{uuid}'" }) : Json(w => WriteFlowerTask(w, task, workerLast: false));
        });

        // Flower: ListTaskTypes, State.task_types() (sorted).
        app.MapGet("/api/task/types", async (HttpContext http) =>
        {
            var types = await queries.TaskTypesAsync(http.RequestAborted);
            return Results.Json(new Dictionary<string, object> { ["task-types"] = types });
        });

        // Flower: ListWorkers, as far as events tell (see WriteFlowerWorker).
        Get(app, "/api/workers", http => Guarded(http, async () =>
        {
            var query = http.Request.Query;
            var status = FlowerBool(query, "status");
            var refresh = FlowerBool(query, "refresh");
            var workername = Arg(query, "workername");
            // Flower's refresh: every inspect method asked at once; a worker that does not answer keeps what it said before.
            // A node without a broker (an in-process host) answers from the events alone, as for a worker that does not answer.
            if (refresh && inspector is not null)
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                bounded.CancelAfter(inspector.Timeout * 4 + TimeSpan.FromSeconds(5));
                try { await inspector.RefreshAsync(workername, bounded.Token); }
                catch (Exception ex) when (ex is BrokerUnavailableException or OperationCanceledException && !http.RequestAborted.IsCancellationRequested)
                {
                    return Results.Json(new { error = "Failed to update workers: " + ex.Message }, statusCode: 503);
                }
            }
            var asOf = MonitorNode.WallClock(); // Flower judges alive with time.time()
            if (Arg(query, "as_of") is { } a)
                asOf = double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
                    ? v : throw new BadRequest("as_of must be epoch seconds");
            var (limit, offset) = WorkerPage(query, DefaultWorkerLimit);
            var workers = await queries.WorkersAsync(asOf, http.RequestAborted);
            if (workername is not null)
            {
                workers = workers.Where(x => x.Hostname == workername).ToList();
                if (workers.Count == 0 && inspector?.Of(workername) is null) return Results.NotFound(new { error = $"Unknown worker '{workername}'" });
            }
            // Workers that answered an inspect but sent no event this node stored (events off, or not yet) come too.
            var byName = workers.ToDictionary(x => x.Hostname, StringComparer.Ordinal);
            var names = byName.Keys.AsEnumerable();
            if (!status && inspector is not null)
                names = names.Union(inspector.Hostnames.Where(h => workername is null || h == workername), StringComparer.Ordinal);
            var all = names.Order(StringComparer.Ordinal).ToList();
            // Flower's shape stays (an object by hostname); the page is by hostname, the total in a header.
            http.Response.Headers["X-Total-Count"] = all.Count.ToString(CultureInfo.InvariantCulture);
            return Json(w =>
            {
                w.WriteStartObject();
                foreach (var h in all.Skip(offset).Take(limit))
                {
                    w.WritePropertyName(h);
                    if (!byName.TryGetValue(h, out var wk)) WriteInspected(w, inspector!.Of(h));
                    else if (status) w.WriteBooleanValue(wk.Alive);
                    else WriteFlowerWorker(w, wk, inspector?.Of(wk.Hostname));
                }
                w.WriteEndObject();
            });
        }));

        return app;
    }

    // flower/api/tasks.py ListTasks.get: limit, offset, sort_by, workername, taskname, state,
    // received_start, received_end, search ('All' means no filter, as in Flower's UI).
    private static async Task<TaskQuery> ParseFlower(IQueryCollection query, StateQueries queries, CancellationToken ct)
    {
        string? NotAll(string name) => Arg(query, name) is { } v && v != "All" ? v : null;
        var sortBy = Arg(query, "sort_by");
        var sort = TaskSortField.Recent; // no sort_by: State.tasks_by_timestamp(), the most recent first
        var descending = true;
        if (sortBy is not null)
        {
            var field = sortBy.TrimStart('-');
            if (!FlowerSortFields.TryGetValue(field, out sort))
                throw new BadRequest($"unknown sort_by '{sortBy}': one of {string.Join(", ", FlowerSortFields.Keys)}, '-' first for descending");
            descending = sortBy.StartsWith('-');
        }
        var search = Arg(query, "search");
        if (search is { Length: > TaskQuery.MaxSearchLength }) throw new BadRequest($"search must be at most {TaskQuery.MaxSearchLength} characters");
        FlowerSearch terms;
        try
        {
            terms = FlowerSearch.Parse(search);
        }
        catch (FormatException ex)
        {
            throw new BadRequest(ex.Message);
        }
        var state = NotAll("state");
        if (state is not null && !await queries.IsKnownStateAsync(state, ct)) throw new BadRequest($"unknown state '{state}'");
        var q = new TaskQuery
        {
            Lenient = true,
            Name = NotAll("taskname"),
            Worker = NotAll("workername"),
            State = state,
            TimeField = TaskTimeField.Received,
            Since = FlowerDate(query, "received_start"),
            Until = FlowerDate(query, "received_end"),
            FlowerTerms = terms.IsEmpty ? null : terms,
            Sort = sort,
            Descending = descending,
            Limit = IntArg(query, "limit") ?? FlowerDefaultLimit,
            Offset = IntArg(query, "offset") ?? 0,
        };
        return q.Validate() is { } error ? throw new BadRequest(error) : q;
    }

    /// <summary>
    /// Flower's received_start/received_end: '%Y-%m-%d %H:%M' read as this machine's local time
    /// (time.mktime of a naive datetime), to epoch seconds.
    /// </summary>
    public static double? FlowerDate(IQueryCollection query, string name)
    {
        if (Arg(query, name) is not { } text) return null;
        if (!DateTime.TryParseExact(text, "yyyy-M-d H:m", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
            throw new BadRequest($"{name} must be a local time as YYYY-MM-DD HH:MM, not '{text}'");
        return new DateTimeOffset(local, TimeZoneInfo.Local.GetUtcOffset(local)).ToUnixTimeMilliseconds() / 1000.0;
    }

    // Flower's get_argument(type=bool): distutils' strtobool.
    private static bool FlowerBool(IQueryCollection query, string name) => ParseBool(query, name, Arg(query, name));

    /// <summary>
    /// Celery's Task.as_dict() as Flower writes it: root and parent as their ids, children as ids.
    /// ListTasks pops the worker and adds its hostname back last, only when there is one; TaskInfo
    /// leaves it in place (null when no worker touched the task).
    /// </summary>
    public static void WriteFlowerTask(Utf8JsonWriter w, TaskSnapshot t, bool workerLast)
    {
        w.WriteStartObject();
        foreach (var field in FlowerTaskFields)
        {
            if (field == "worker" && workerLast) continue;
            w.WritePropertyName(field);
            switch (field)
            {
                case "uuid": w.WriteStringValue(t.Uuid); break;
                case "worker": WriteString(w, t.Worker); break;
                case "children":
                    w.WriteStartArray();
                    foreach (var c in t.Children) w.WriteStringValue(c);
                    w.WriteEndArray();
                    break;
                default:
                    var raw = t.Field(field switch { "root" => "root_id", "parent" => "parent_id", _ => field });
                    w.WriteRawValue(raw ?? "null", skipInputValidation: true);
                    break;
            }
        }
        if (workerLast && t.Worker is not null) w.WriteString("worker", t.Worker);
        w.WriteEndObject();
    }

    /// <summary>
    /// A worker as Flower's ListWorkers shows it, from what the events tell: Celery's Worker
    /// fields (hostname, pid, freq, heartbeats, clock, active, processed, loadavg, sw_ident,
    /// sw_ver, sw_sys), alive and status as Flower's status view and dashboard show them; then
    /// what Flower fills the rest of its entry with, from remote control (inspect: stats,
    /// active_queues, registered, scheduled, active, reserved, revoked, conf, and the timestamp of
    /// the last answer), once the worker was inspected (<c>refresh=1</c>).
    /// </summary>
    /// <param name="inspected">What the worker said when last inspected (Flower's Inspector fields), written after the event fields.</param>
    public static void WriteFlowerWorker(Utf8JsonWriter w, WorkerSnapshot wk, (IReadOnlyDictionary<string, JsonElement> Answers, double At)? inspected = null)
    {
        w.WriteStartObject();
        foreach (var (name, raw) in wk.Fields)
        {
            w.WritePropertyName(name);
            w.WriteRawValue(raw ?? "null", skipInputValidation: true);
            if (name == "freq")
            {
                w.WriteStartArray("heartbeats");
                foreach (var h in wk.Heartbeats) w.WriteNumberValue(h);
                w.WriteEndArray();
            }
        }
        w.WriteBoolean("alive", wk.Alive);
        w.WriteString("status", wk.Alive ? "ONLINE" : "OFFLINE"); // Worker.status_string
        WriteInspectedFields(w, inspected);
        w.WriteEndObject();
    }

    private static void WriteInspected(Utf8JsonWriter w, (IReadOnlyDictionary<string, JsonElement> Answers, double At)? inspected)
    {
        w.WriteStartObject();
        WriteInspectedFields(w, inspected);
        w.WriteEndObject();
    }

    private static void WriteInspectedFields(Utf8JsonWriter w, (IReadOnlyDictionary<string, JsonElement> Answers, double At)? inspected)
    {
        if (inspected is not { } i) return;
        foreach (var method in WorkerInspector.Methods)
            if (i.Answers.TryGetValue(method, out var answer))
            {
                w.WritePropertyName(method);
                answer.WriteTo(w);
            }
        w.WriteNumber("timestamp", i.At);
    }

    private static void WriteString(Utf8JsonWriter w, string? s)
    {
        if (s is null) w.WriteNullValue();
        else w.WriteStringValue(s);
    }
}
