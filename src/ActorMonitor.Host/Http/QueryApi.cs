using System.Globalization;
using System.Text.Json;
using ActorMonitor.Celery.Output;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Queries;
using ActorMonitor.Rabbit;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace ActorMonitor.Host.Http;

/// <summary>
/// The query side over every task the store holds: our API (<c>/api/query/*</c>, tasks in the
/// oracle's schema) and Flower's (<c>/api/tasks</c>, <c>/api/task/info</c>, <c>/api/task/types</c>,
/// <c>/api/workers</c>, with Flower's parameters, semantics and shapes, so Flower clients keep
/// working). Lists are read from the store as of the last checkpoint (<c>fresh=true</c>: after a
/// checkpoint of every node). A request outside the limits is answered 400 with <c>{"error": why}</c>.
/// </summary>
public static class QueryApi
{
    /// <summary>Flower lists every task when no limit is given; a page is bounded here.</summary>
    public const int FlowerDefaultLimit = TaskQuery.MaxLimit;

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
    public static WebApplication MapQueryApi(this WebApplication app, MonitorNode node, WorkerInspector? inspector = null)
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

    /// <summary>Workers a list gives when no limit is asked: any one can publish events under a new name.</summary>
    public const int DefaultWorkerLimit = 1000;

    public const int MaxWorkerLimit = 10_000;

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

    /// <summary>A page of a worker list: limit (1 to <see cref="MaxWorkerLimit"/>, <paramref name="defaultLimit"/> if absent) and offset (0 or more).</summary>
    public static (int Limit, int Offset) WorkerPage(IQueryCollection query, int defaultLimit)
    {
        var limit = IntArg(query, "limit") ?? defaultLimit;
        var offset = IntArg(query, "offset") ?? 0;
        if (limit < 1 || limit > MaxWorkerLimit) throw new BadRequest($"limit must be from 1 to {MaxWorkerLimit}, not {limit}");
        if (offset < 0) throw new BadRequest($"offset must be 0 or more, not {offset}");
        return (limit, offset);
    }

    // A handler of the context that returns its result (a lambda of HttpContext alone would be taken
    // for a RequestDelegate, whose result is discarded).
    private static void Get(WebApplication app, string pattern, Func<HttpContext, Task<IResult>> handler) => app.MapGet(pattern, (Delegate)handler);

    /// <summary>A request outside the limits: answered 400 with its reason.</summary>
    internal sealed class BadRequest(string message) : Exception(message);

    internal static async Task<IResult> Guarded(HttpContext http, Func<Task<IResult>> handle)
    {
        try
        {
            return await handle();
        }
        catch (BadRequest ex)
        {
            return Results.BadRequest(new { error = ex.Message });
        }
        catch (Exception ex) when (ex is InvalidOperationException or AskTimeoutException or TimeoutException && !http.RequestAborted.IsCancellationRequested)
        {
            // fresh=true needs a checkpoint of every node: the store or a node may not answer.
            return Results.Json(new { error = "the tasks cannot be read now: " + ex.GetBaseException().Message }, statusCode: 503);
        }
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

    private static async Task<string?> State(IQueryCollection query, string name, StateQueries queries, CancellationToken ct)
    {
        var state = One(query, name);
        if (state is not null && !await queries.IsKnownStateAsync(state, ct))
            throw new BadRequest($"unknown state '{state}': neither one of Celery's states nor the state of a stored task");
        return state;
    }

    /// <summary>Our parameters: given once, taken as sent (an empty value is no filter).</summary>
    private static string? One(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values)) return null;
        if (values.Count > 1) throw new BadRequest($"{name} given more than once");
        return string.IsNullOrEmpty(values[0]) ? null : values[0];
    }

    /// <summary>Tornado's get_argument: the last value, stripped of whitespace.</summary>
    private static string? Arg(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out StringValues values) || values.Count == 0) return null;
        var v = values[^1]?.Trim();
        return string.IsNullOrEmpty(v) ? null : v;
    }

    private static int? Int(IQueryCollection query, string name) =>
        One(query, name) is { } text ? ParseInt(name, text) : null;

    private static int? IntArg(IQueryCollection query, string name) =>
        Arg(query, name) is { } text ? ParseInt(name, text) : null;

    private static int ParseInt(string name, string text) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : throw new BadRequest($"{name} must be an integer, not '{text}'");

    private static double? Epoch(IQueryCollection query, string name) =>
        One(query, name) is { } text
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw new BadRequest($"{name} must be epoch seconds, not '{text}'")
            : null;

    private static bool Fresh(IQueryCollection query) => ParseBool(query, "fresh", One(query, "fresh"));

    // Flower's get_argument(type=bool): distutils' strtobool.
    private static bool FlowerBool(IQueryCollection query, string name) => ParseBool(query, name, Arg(query, name));

    private static bool ParseBool(IQueryCollection query, string name, string? text) => text?.ToLowerInvariant() switch
    {
        null => false,
        "1" or "true" or "t" or "yes" or "y" or "on" => true,
        "0" or "false" or "f" or "no" or "n" or "off" => false,
        _ => throw new BadRequest($"{name} must be true or false, not '{text}'"),
    };

    private static IResult Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Results.Bytes(buffer.ToArray(), "application/json");
    }

    private static void WriteCounts(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, long> counts)
    {
        w.WriteStartObject(name);
        foreach (var (key, n) in counts) w.WriteNumber(key, n);
        w.WriteEndObject();
    }

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
