using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using static ActorMonitor.Host.Commands.Cmd.CmdRunner;

namespace ActorMonitor.Host.Commands.Cmd;

/// <summary>
/// `cmd celery`'s remote control, through the node's Flower control routes: revoke and terminate a
/// task, its rate and time limits, a worker's pool, consumers and shutdown, an inspect of the
/// workers, and sending a task. The node's message is printed on success; its refusal (403, 404,
/// 400, 401, 503) is one line on standard error, an unknown worker or task exit code 3. What
/// cannot be undone asks first on a terminal and needs --yes when standard input is not one.
/// </summary>
internal static class CeleryControlCommands
{
    public const int Unknown = CeleryPalette.Unknown;

    /// <summary>A question answered no at the prompt: nothing was done.</summary>
    public const int Declined = 1;

    public static IEnumerable<Command> Commands(CmdOptions options) =>
    [
        Inspect(options), Revoke(options, terminate: false), Revoke(options, terminate: true), RateLimit(options), TimeLimit(options),
        Pool(options, "grow"), Pool(options, "shrink"), Autoscale(options), Consumer(options, "add"), Consumer(options, "cancel"),
        Shutdown(options), SendTask(options),
    ];

    private static Command Revoke(CmdOptions options, bool terminate)
    {
        var id = new Argument<string>("TASK_ID") { Description = "the task's id" };
        var signal = new Option<string>("--signal") { Description = "the signal sent to the process running it", DefaultValueFactory = _ => "SIGTERM" };
        var yes = YesOption();
        var cmd = terminate
            ? new Command("terminate", "Revoke a task and kill the process running it with --signal (default SIGTERM); every worker is told. Asks first.") { id, signal, yes }
            : new Command("revoke", "Revoke a task: every worker discards it when it comes (one already running goes on). Asks first.") { id, yes };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var task = parse.GetValue(id)!;
            var sig = terminate ? parse.GetValue(signal)! : null;
            Confirm(parse, yes, cmd.Name, terminate ? $"Terminate task {task} with {sig}?" : $"Revoke task {task}?");
            using var doc = await client.PostFormAsync("/api/task/revoke/" + Segment(task),
                terminate ? [("terminate", "true"), ("signal", sig)] : [], Unknown, ct);
            return Message(parse, options, output, doc);
        });
        return cmd;
    }

    private static Command RateLimit(CmdOptions options)
    {
        var name = TaskNameArgument();
        var rate = new Argument<string>("RATE") { Description = "tasks per second, minute or hour: 10, 10/s, 100/m, 1000/h (0: no limit)" };
        var worker = WorkerOption();
        var cmd = new Command("rate-limit", $"Set a task's rate limit on a worker; exit code {Unknown} for an unknown task or worker.") { name, rate, worker };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            using var doc = await client.PostFormAsync("/api/task/rate-limit/" + Segment(parse.GetValue(name)!),
                [("workername", parse.GetValue(worker)), ("ratelimit", parse.GetValue(rate))], Unknown, ct);
            return Message(parse, options, output, doc);
        });
        return cmd;
    }

    private static Command TimeLimit(CmdOptions options)
    {
        var name = TaskNameArgument();
        var worker = WorkerOption();
        var soft = new Option<double?>("--soft") { Description = "the soft time limit in seconds (SoftTimeLimitExceeded is raised in the task)" };
        var hard = new Option<double?>("--hard") { Description = "the hard time limit in seconds (the process running the task is killed)" };
        var cmd = new Command("time-limit", $"Set a task's soft and hard time limits on a worker; exit code {Unknown} for an unknown task or worker.") { name, worker, soft, hard };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            using var doc = await client.PostFormAsync("/api/task/timeout/" + Segment(parse.GetValue(name)!),
                [("workername", parse.GetValue(worker)), ("soft", Number(parse.GetValue(soft))), ("hard", Number(parse.GetValue(hard)))], Unknown, ct);
            return Message(parse, options, output, doc);
        });
        return cmd;
    }

    private static Command Pool(CmdOptions options, string action)
    {
        var worker = WorkerArgument();
        var n = new Option<int>("--n") { Description = "how many processes", DefaultValueFactory = _ => 1 };
        var yes = YesOption();
        var shrink = action == "shrink";
        var cmd = shrink
            ? new Command("pool-shrink", "Stop --n of a worker's pool processes (default 1). Asks first.") { worker, n, yes }
            : new Command("pool-grow", "Start --n more pool processes on a worker (default 1).") { worker, n };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var name = parse.GetValue(worker)!;
            var count = parse.GetValue(n);
            if (count < 1) throw new CmdException($"{cmd.Name}: --n must be at least 1");
            if (shrink) Confirm(parse, yes, cmd.Name, $"Shrink worker {name}'s pool by {count}?");
            using var doc = await client.PostFormAsync($"/api/worker/pool/{action}/" + Segment(name), [("n", count.ToString(CultureInfo.InvariantCulture))], Unknown, ct);
            return Message(parse, options, output, doc);
        });
        return cmd;
    }

    private static Command Autoscale(CmdOptions options)
    {
        var worker = WorkerArgument();
        var min = new Option<int>("--min") { Description = "the fewest pool processes", Required = true };
        var max = new Option<int>("--max") { Description = "the most pool processes", Required = true };
        var cmd = new Command("autoscale", "Set a worker's autoscaler bounds (a worker started with --autoscale).") { worker, min, max };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var (lo, hi) = (parse.GetValue(min), parse.GetValue(max));
            if (lo < 0 || hi < lo) throw new CmdException("autoscale: --min must be at least 0 and --max at least --min");
            using var doc = await client.PostFormAsync("/api/worker/pool/autoscale/" + Segment(parse.GetValue(worker)!),
                [("min", lo.ToString(CultureInfo.InvariantCulture)), ("max", hi.ToString(CultureInfo.InvariantCulture))], Unknown, ct);
            return Message(parse, options, output, doc);
        });
        return cmd;
    }

    private static Command Consumer(CmdOptions options, string action)
    {
        var worker = WorkerArgument();
        var queue = new Argument<string>("QUEUE") { Description = "the queue's name" };
        var yes = YesOption();
        var cancel = action == "cancel";
        var cmd = cancel
            ? new Command("cancel-consumer", "Make a worker stop consuming from a queue. Asks first.") { worker, queue, yes }
            : new Command("add-consumer", "Make a worker consume from a queue too (declared if it does not exist).") { worker, queue };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var (name, q) = (parse.GetValue(worker)!, parse.GetValue(queue)!);
            if (cancel) Confirm(parse, yes, cmd.Name, $"Make worker {name} stop consuming from {q}?");
            using var doc = await client.PostFormAsync($"/api/worker/queue/{action}-consumer/" + Segment(name), [("queue", q)], Unknown, ct);
            return Message(parse, options, output, doc);
        });
        return cmd;
    }

    private static Command Shutdown(CmdOptions options)
    {
        var worker = WorkerArgument();
        var yes = YesOption();
        var cmd = new Command("shutdown", "Shut a worker down (warm: it finishes its running tasks, then exits). Asks first.") { worker, yes };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var name = parse.GetValue(worker)!;
            Confirm(parse, yes, cmd.Name, $"Shut down worker {name}?");
            using var doc = await client.PostFormAsync("/api/worker/shutdown/" + Segment(name), [], Unknown, ct);
            return Message(parse, options, output, doc);
        });
        return cmd;
    }

    private static Command SendTask(CmdOptions options)
    {
        var name = TaskNameArgument();
        var args = new Option<string?>("--args") { Description = "the positional arguments, a JSON array: [2,3]" };
        var kwargs = new Option<string?>("--kwargs") { Description = "the keyword arguments, a JSON object: {\"x\":2}" };
        var queue = new Option<string?>("--queue") { Description = "the queue to send it to (node default: actormonitor.control.default-queue, celery)" };
        var cmd = new Command("send-task", "Send a task by name for a worker to run, as Celery's send_task; prints its id.") { name, args, kwargs, queue };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var body = new JsonObject();
            if (parse.GetValue(args) is { } a) body["args"] = ParseJson(a, "--args", JsonValueKind.Array);
            if (parse.GetValue(kwargs) is { } k) body["kwargs"] = ParseJson(k, "--kwargs", JsonValueKind.Object);
            if (parse.GetValue(queue) is { } q) body["queue"] = q;
            using var doc = await client.PostJsonAsync("/api/task/send-task/" + Segment(parse.GetValue(name)!), body.ToJsonString(), Unknown, ct);
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            output.Line(Get(doc.RootElement, "task-id") ?? doc.RootElement.GetRawText());
            return 0;
        });
        return cmd;
    }

    private static Command Inspect(CmdOptions options)
    {
        var worker = new Argument<string?>("WORKER") { Description = "one worker's hostname (default: every worker)", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("inspect",
            $"Ask the workers now (Celery's inspect: stats, registered, active_queues, active, reserved, scheduled, ...) and show each one's pool, " +
            $"tasks and queues; exit code {Unknown} for an unknown worker.") { worker };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var name = parse.GetValue(worker);
            var path = "/api/workers?refresh=1" + (name is null ? "" : "&workername=" + Uri.EscapeDataString(name));
            var (doc, routeMissing) = await client.TryGetAsync(path, ct);
            if (doc is null)
                throw routeMissing ? new CmdException($"node at {client.Url} does not serve /api/workers (404)") : new CmdException($"unknown worker {name}", Unknown);
            using var _ = doc;
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            var first = true;
            foreach (var w in doc.RootElement.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                if (!first) output.Line();
                first = false;
                output.Line(w.Name);
                output.Fields(InspectFields(w.Value).Select(f => ("  " + f.Name, f.Value)));
            }
            if (first) output.Line("no worker answered or was seen");
            return 0;
        });
        return cmd;
    }

    /// <summary>What a person asks of an inspect: the pool, the registered tasks, the queues, the tasks held, and when it answered.</summary>
    private static IEnumerable<(string Name, string? Value)> InspectFields(JsonElement w)
    {
        yield return ("status", Get(w, "status") ?? "-");
        if (!w.TryGetProperty("timestamp", out var at))
        {
            yield return ("inspect", "no answer (offline, or not within the node's inspect timeout)");
            yield break;
        }
        var stats = Field(w, "stats");
        var pool = stats is { } s ? Field(s, "pool") : null;
        if (pool is { } p)
        {
            var processes = Field(p, "processes") is { ValueKind: JsonValueKind.Array } procs ? procs : (JsonElement?)null;
            var parts = new List<string>();
            if (Get(p, "implementation") is { } impl) parts.Add(impl);
            if (Get(p, "max-concurrency") is { } max) parts.Add($"max concurrency {max}");
            if (processes is { } list)
                parts.Add($"{list.GetArrayLength()} process(es): {string.Join(" ", list.EnumerateArray().Select(x => x.GetRawText()))}");
            yield return ("pool", parts.Count > 0 ? string.Join(", ", parts) : p.GetRawText());
        }
        else yield return ("pool", "-");
        if (stats is { } st && Get(st, "pid") is { } pid) yield return ("pid", pid);
        yield return ("registered", Names(Field(w, "registered"), e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()));
        yield return ("queues", Names(Field(w, "active_queues"), e => Get(e, "name")));
        foreach (var key in new[] { "active", "reserved", "scheduled" })
            yield return (key, Field(w, key) is { ValueKind: JsonValueKind.Array } tasks ? HumanFormat.Count(tasks.GetArrayLength()) : "-");
        yield return ("inspected", HumanFormat.Time(at));
    }

    private static string Names(JsonElement? list, Func<JsonElement, string?> name) =>
        list is { ValueKind: JsonValueKind.Array } l
            ? l.GetArrayLength() == 0 ? "(none)" : string.Join(", ", l.EnumerateArray().Select(name).Where(n => n is not null))
            : "-";

    /// <summary>Carry on when --yes is given, or the person answers y on a terminal; otherwise nothing is sent.</summary>
    private static void Confirm(ParseResult parse, Option<bool> yes, string command, string question)
    {
        if (parse.GetValue(yes)) return;
        if (Console.IsInputRedirected)
            throw new CmdException($"{command}: standard input is not a terminal to confirm on: give --yes (nothing done)");
        Console.Error.Write($"{question} [y/N] ");
        var answer = Console.ReadLine()?.Trim().ToLowerInvariant();
        if (answer is not ("y" or "yes")) throw new CmdException($"{command}: not confirmed (nothing done)", Declined);
    }

    private static int Message(ParseResult parse, CmdOptions options, CmdOutput output, JsonDocument doc)
    {
        if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
        output.Line(Get(doc.RootElement, "message") ?? doc.RootElement.GetRawText());
        return 0;
    }

    private static JsonNode? ParseJson(string text, string option, JsonValueKind kind)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException ex) { throw new CmdException($"{option} is not JSON: {ex.Message}"); }
        if (node?.GetValueKind() != kind)
            throw new CmdException($"{option} must be a JSON {(kind == JsonValueKind.Array ? "array, e.g. [2,3]" : "object, e.g. {\"x\":2}")}");
        return node;
    }

    private static string? Number(double? v) => v?.ToString("R", CultureInfo.InvariantCulture);

    private static string Segment(string value) => Uri.EscapeDataString(value);

    private static JsonElement? Field(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private static Option<bool> YesOption() => new("--yes", "-y") { Description = "do it without asking (required when standard input is not a terminal)" };

    private static Argument<string> WorkerArgument() => new("WORKER") { Description = "the worker's hostname, e.g. celery@host" };

    private static Option<string> WorkerOption() => new("--worker") { Description = "the worker's hostname, e.g. celery@host", Required = true };

    private static Argument<string> TaskNameArgument() => new("TASKNAME") { Description = "the task's registered name, e.g. proj.tasks.add" };
}
