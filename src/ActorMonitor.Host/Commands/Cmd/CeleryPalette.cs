using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using static ActorMonitor.Host.Commands.Cmd.CmdRunner;

namespace ActorMonitor.Host.Commands.Cmd;

/// <summary>
/// `cmd celery`: what the cluster knows of the monitored Celery cluster: workers, one worker, one
/// task, tasks filtered and paged by the query API, and the receiver's, store's and broker's figures;
/// and the workers' remote control through the node (<see cref="CeleryControlCommands"/>).
/// </summary>
internal static class CeleryPalette
{
    public const int Unknown = StateCommand.UnknownTask;

    public static Command Build(CmdOptions options)
    {
        var palette = new Command("celery",
            "The monitored Celery cluster: workers, worker, task, tasks, stats; its workers' remote control through the node: inspect, " +
            "revoke, terminate, rate-limit, time-limit, pool-grow, pool-shrink, autoscale, add-consumer, cancel-consumer, shutdown, send-task.");
        palette.Subcommands.Add(Workers(options));
        palette.Subcommands.Add(Worker(options));
        palette.Subcommands.Add(TaskCommand(options));
        palette.Subcommands.Add(Tasks(options));
        palette.Subcommands.Add(Stats(options));
        foreach (var command in CeleryControlCommands.Commands(options)) palette.Subcommands.Add(command);
        return palette;
    }

    private static Command Workers(CmdOptions options)
    {
        var cmd = new Command("workers", "Every worker seen: online or not, active and processed tasks, pid, load, software, last heartbeat.");
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            using var doc = (await WorkersAsync(client, null, ct))!;
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            WorkerTable(output, doc.RootElement);
            return 0;
        });
        return cmd;
    }

    private static Command Worker(CmdOptions options)
    {
        var hostname = new Argument<string>("HOSTNAME") { Description = "the worker's hostname, e.g. celery@host" };
        var cmd = new Command("worker", $"One worker, every field (the schema of Celery's Worker); exit code {Unknown} when unknown.") { hostname };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var name = parse.GetValue(hostname)!;
            using var doc = await WorkersAsync(client, name, ct) ?? throw new CmdException($"unknown worker {name}", Unknown);
            if (!doc.RootElement.TryGetProperty(name, out var worker)) throw new CmdException($"unknown worker {name}", Unknown);
            if (parse.GetValue(options.Json)) { output.Json(worker); return 0; }
            output.Fields(Flatten(worker).Prepend((Name: "hostname", Value: (string?)name)).DistinctBy(f => f.Name));
            return 0;
        });
        return cmd;
    }

    private static Command TaskCommand(CmdOptions options)
    {
        var uuid = new Argument<string>("UUID") { Description = "the task's id" };
        var cmd = new Command("task", $"One task, every field (the schema of Celery's Task), restored from the store if passivated; exit code {Unknown} when unknown.") { uuid };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var id = parse.GetValue(uuid)!;
            // Our schema (Celery's Task fields), not Flower's /api/task/info.
            using var doc = await client.GetAsync("/api/query/task/" + Uri.EscapeDataString(id), ct, nullOnNotFound: true)
                ?? throw new CmdException($"unknown task {id}", Unknown);
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            output.Fields(Flatten(doc.RootElement));
            return 0;
        });
        return cmd;
    }

    private static Command Tasks(CmdOptions options)
    {
        var state = new Option<string?>("--state") { Description = "only tasks in this state (SUCCESS, FAILURE, STARTED, ...)" };
        var name = new Option<string?>("--name") { Description = "only tasks of this name" };
        var worker = new Option<string?>("--worker") { Description = "only tasks of this worker (hostname)" };
        var timeField = new Option<string?>("--time-field") { Description = "the time --since/--until and the default sort apply to (node default: received)" };
        var since = new Option<string?>("--since") { Description = "epoch seconds or an ISO 8601 time (UTC unless it says otherwise)" };
        var until = new Option<string?>("--until") { Description = "epoch seconds or an ISO 8601 time (UTC unless it says otherwise)" };
        var search = new Option<string?>("--search") { Description = "text to find in the task's fields (name, args, kwargs, result, ...)" };
        var sort = new Option<string?>("--sort") { Description = "the field to sort on (node default: received)" };
        var order = new Option<string?>("--order") { Description = "asc or desc (node default: desc)" };
        order.AcceptOnlyFromAmong("asc", "desc");
        var limit = new Option<int?>("--limit") { Description = "tasks per page (node default: 50)" };
        var offset = new Option<int?>("--offset") { Description = "tasks to skip (node default: 0)" };
        var fresh = new Option<bool>("--fresh") { Description = "checkpoint every node first (default: as of the last checkpoint)" };
        var cmd = new Command("tasks", "Tasks filtered, sorted and paged by the node's query API (GET /api/query/tasks).")
        {
            state, name, worker, timeField, since, until, search, sort, order, limit, offset, fresh,
        };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var query = new List<string>();
            void Add(string key, string? value)
            {
                if (value is not null) query.Add($"{key}={Uri.EscapeDataString(value)}");
            }
            Add("state", parse.GetValue(state));
            Add("name", parse.GetValue(name));
            Add("worker", parse.GetValue(worker));
            Add("time_field", parse.GetValue(timeField));
            Add("since", Epoch(parse.GetValue(since), "--since"));
            Add("until", Epoch(parse.GetValue(until), "--until"));
            Add("search", parse.GetValue(search));
            Add("sort", parse.GetValue(sort));
            Add("order", parse.GetValue(order));
            Add("limit", parse.GetValue(limit)?.ToString(CultureInfo.InvariantCulture));
            Add("offset", parse.GetValue(offset)?.ToString(CultureInfo.InvariantCulture));
            if (parse.GetValue(fresh)) Add("fresh", "true");
            using var doc = await client.GetRequiredAsync("/api/query/tasks" + (query.Count > 0 ? "?" + string.Join("&", query) : ""), ct);
            var r = doc.RootElement;
            if (parse.GetValue(options.Json)) { output.Json(r); return 0; }
            var tasks = r.GetProperty("tasks").EnumerateArray().ToList();
            output.Table(["UUID", "NAME", "STATE", "WORKER", "RECEIVED", "RUNTIME"],
                tasks.Select(t => new[] { Get(t, "uuid"), Get(t, "name"), Get(t, "state"), Get(t, "worker"), Time(t, "received"), Duration(t, "runtime") }));
            var total = r.GetProperty("total").GetInt64();
            var first = r.TryGetProperty("offset", out var o) ? o.GetInt64() : 0;
            output.Line();
            output.Line(tasks.Count == 0 ? $"no task on this page; {HumanFormat.Count(total)} match"
                : $"tasks {HumanFormat.Count(first + 1)}-{HumanFormat.Count(first + tasks.Count)} of {HumanFormat.Count(total)}");
            return 0;
        });
        return cmd;
    }

    private static Command Stats(CmdOptions options)
    {
        var cmd = new Command("stats", "Messages and events received, the store, the broker, and tasks by state, name and worker.");
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            using var stats = await client.GetRequiredAsync("/api/stats", ct);
            // The counts come from the query API: a node without it still shows its own figures.
            using var counts = await client.GetAsync("/api/query/counts", ct, nullOnNotFound: true);
            if (parse.GetValue(options.Json))
            {
                output.Line($"{{\"stats\":{stats.RootElement.GetRawText()},\"counts\":{counts?.RootElement.GetRawText() ?? "null"}}}");
                return 0;
            }
            var s = stats.RootElement;
            var fields = new List<(string, string?)>
            {
                ("messages", Count(s, "messages")), ("rejected messages", Count(s, "rejected")),
                ("accepted events", Count(s, "accepted_events")), ("rejected events", Count(s, "rejected_events")),
                ("duplicate messages", Count(s, "duplicate_messages")), ("duplicate events", Count(s, "duplicate_events")),
                ("in flight", Count(s, "in_flight")), ("awaiting checkpoint", Count(s, "awaiting_checkpoint")),
                ("checkpoint failures", Count(s, "checkpoint_failures")),
            };
            if (s.TryGetProperty("store", out var store))
                fields.AddRange([
                    ("journal", Get(store, "journal")), ("live tasks", Count(store, "live_tasks")), ("live workers", Count(store, "live_workers")),
                    ("passivations", Count(store, "passivations")), ("rows written", Count(store, "rows_written")), ("rows loaded", Count(store, "rows_loaded")),
                    ("store failing", Get(store, "failing")),
                ]);
            if (s.TryGetProperty("broker", out var broker) && broker.ValueKind == JsonValueKind.Object)
                fields.AddRange([
                    ("queue", Get(broker, "queue")), ("broker connected", Get(broker, "connected")),
                    ("consumed", Count(broker, "consumed")), ("acked", Count(broker, "acked")), ("overflowed", Count(broker, "overflowed")),
                ]);
            if (s.TryGetProperty("cluster", out var cluster))
                fields.Add(("cluster members", cluster.GetProperty("members").GetArrayLength().ToString()));
            output.Fields(fields);
            if (counts is null)
            {
                output.Line();
                output.Line("(this node has no query API: no counts by state, name or worker)");
                return 0;
            }
            var c = counts.RootElement;
            output.Line();
            output.Line($"tasks: {Count(c, "total")}");
            foreach (var (key, header) in new[] { ("by_state", "STATE"), ("by_name", "NAME"), ("by_worker", "WORKER") })
            {
                if (!c.TryGetProperty(key, out var group) || group.ValueKind != JsonValueKind.Object) continue;
                output.Line();
                output.Table([header, "TASKS"], group.EnumerateObject()
                    .OrderByDescending(p => p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : 0).ThenBy(p => p.Name, StringComparer.Ordinal)
                    .Select(p => new[] { p.Name, HumanFormat.Count(p.Value) }));
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// Workers keyed by hostname, from Flower's GET /api/workers (?workername= for one). A node
    /// without that route still has every worker in its state document (heavier: it carries the tasks).
    /// </summary>
    /// <returns>Null when the node answers that <paramref name="hostname"/> is unknown.</returns>
    private static async Task<JsonDocument?> WorkersAsync(NodeClient client, string? hostname, CancellationToken ct)
    {
        var path = "/api/workers" + (hostname is null ? "" : "?workername=" + Uri.EscapeDataString(hostname));
        var (workers, routeMissing) = await client.TryGetAsync(path, ct);
        if (workers is not null) return workers;
        if (!routeMissing) return null;
        using var state = await client.GetRequiredAsync("/api/state", ct);
        return JsonDocument.Parse(state.RootElement.GetProperty("workers").GetRawText());
    }

    private static void WorkerTable(CmdOutput output, JsonElement workers)
    {
        var rows = workers.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p =>
        {
            var w = p.Value;
            // Flower nests what inspect returned under "stats"; our state's workers are flat.
            var stats = w.ValueKind == JsonValueKind.Object && w.TryGetProperty("stats", out var st) && st.ValueKind == JsonValueKind.Object ? st : w;
            var alive = Field(w, "alive") ?? Field(w, "status");
            var active = Field(w, "active") is { } a ? a.ValueKind == JsonValueKind.Array ? HumanFormat.Count(a.GetArrayLength()) : HumanFormat.Count(a) : null;
            var processed = Count(w, "processed") ?? (Field(stats, "total") is { ValueKind: JsonValueKind.Object } total
                ? HumanFormat.Count(total.EnumerateObject().Sum(t => t.Value.ValueKind == JsonValueKind.Number ? t.Value.GetInt64() : 0)) : null);
            var load = Field(w, "loadavg") is { ValueKind: JsonValueKind.Array } l ? string.Join(" ", l.EnumerateArray().Select(x => x.GetRawText())) : null;
            var software = Get(w, "sw_ident") is { } ident ? $"{ident} {Get(w, "sw_ver")}".Trim() : null;
            var beat = Field(w, "heartbeats") is { ValueKind: JsonValueKind.Array } h && h.GetArrayLength() > 0
                ? HumanFormat.Time(h[h.GetArrayLength() - 1]) : null;
            return new[]
            {
                p.Name, alive is { } x ? x.ValueKind switch { JsonValueKind.True => "online", JsonValueKind.False => "offline", _ => Text(x) } : null,
                active, processed, Get(stats, "pid"), load, software, beat,
            };
        });
        output.Table(["HOSTNAME", "STATUS", "ACTIVE", "PROCESSED", "PID", "LOADAVG", "SOFTWARE", "LAST HEARTBEAT"], rows);
    }

    private static JsonElement? Field(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : null;

    /// <summary>An object's fields in name order, times, runtime and counts formatted, nested values as compact JSON.</summary>
    private static IEnumerable<(string Name, string? Value)> Flatten(JsonElement e) =>
        e.ValueKind != JsonValueKind.Object
            ? [("value", Text(e))]
            : e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => (p.Name, HumanFormat.Field(p.Name, p.Value)));

    /// <summary>Epoch seconds as given, or an ISO 8601 time turned into them.</summary>
    private static string? Epoch(string? text, string option)
    {
        if (text is null) return null;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
            return seconds.ToString("R", CultureInfo.InvariantCulture);
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            return (time.ToUnixTimeMilliseconds() / 1000.0).ToString("R", CultureInfo.InvariantCulture);
        throw new CmdException($"{option} must be epoch seconds or an ISO 8601 time, not '{text}'");
    }
}
