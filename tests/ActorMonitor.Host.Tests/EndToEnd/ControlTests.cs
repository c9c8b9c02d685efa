using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

using ActorMonitor.Host.Http;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// Remote control and inspect with Flower 2.0.1's routes (flower/api/control.py, tasks.py,
/// workers.py): the node speaks Celery's pidbox protocol to real Celery 5 prefork workers over a
/// real RabbitMQ. Each fact checks the answer's status and body (Flower's exact strings) and what
/// the command did to the worker, seen by other means where there are any: the worker's own
/// process tree, Celery's command line, the task's events.
/// One node (with a token) and one worker, w1@ctl (prefork, 2 processes, the default queue),
/// serve the whole class; facts that stop or load a worker start one of their own on its own queue.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ControlTests(RabbitBroker broker, ControlTests.Cluster cluster, ITestOutputHelper output)
    : IClassFixture<RabbitBroker>, IClassFixture<ControlTests.Cluster>
{
    private const string Python = "/usr/bin/python3";
    private const string W1 = "w1@ctl";
    private static readonly string E2eDir = Repo.Path("tests", "e2e");
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>The node and w1@ctl, started by the first fact that needs them and shared by the rest.</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        private readonly SemaphoreSlim _gate = new(1, 1);

        public string Token { get; } = "ctl-" + Guid.NewGuid().ToString("N");
        public string TokenFile { get; } = Path.Combine(Path.GetTempPath(), $"ctl-token-{Guid.NewGuid():N}");
        internal LiveNode? Node { get; private set; }
        public ChildProcess? W1 { get; private set; }

        internal async Task<LiveNode> EnsureAsync(RabbitBroker broker)
        {
            await _gate.WaitAsync();
            try
            {
                if (Node is not null) return Node;
                await File.WriteAllTextAsync(TokenFile, Token + "\n");
                // The queue send-task uses when the options name none: the app's task_default_queue, as Flower started with -A e2e_tasks knows it.
                var node = await LiveNode.StartAsync(broker.Url, "--http-token-file", TokenFile, "--config", "actormonitor.control.default-queue = \"e2e.tasks\"");
                W1 = StartWorker(broker, ControlTests.W1);
                Node = node;
                return node;
            }
            finally
            {
                _gate.Release();
            }
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            if (W1 is not null) await W1.DisposeAsync();
            if (Node is not null) await Node.DisposeAsync();
            File.Delete(TokenFile);
        }
    }

    private static Dictionary<string, string> CeleryEnv(RabbitBroker b) => new() { ["E2E_BROKER"] = b.Url, ["PYTHONPATH"] = E2eDir };

    private static ChildProcess StartWorker(RabbitBroker b, string name, params string[] extra) => ChildProcess.Start(name, Python,
        ["-m", "celery", "-A", "e2e_tasks", "worker", "-E", "-n", name, "-P", "prefork", "-c", "2", "--without-mingle", "-l", "info", .. extra],
        E2eDir, CeleryEnv(b));

    // ---------------------------------------------------------------- HTTP

    private sealed record Answer(HttpStatusCode Status, string Body, TimeSpan Elapsed)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        public override string ToString() => $"{(int)Status} {Body}";
    }

    private async Task<Answer> SendAsync(HttpMethod method, string url, HttpContent? content = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (NodeKey.TryRead(new Uri(url).Port) is { } key) request.Headers.Add(NodeKey.Header, key); // a node without credentials
        var watch = Stopwatch.StartNew();
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{method} {url} -> {(int)response.StatusCode} {LiveNode.Tail(body, 300)} ({watch.Elapsed.TotalSeconds:F1} s)");
        return new Answer(response.StatusCode, body, watch.Elapsed);
    }

    private Task<Answer> PostAsync(LiveNode node, string pathAndQuery) => SendAsync(HttpMethod.Post, node.Url + pathAndQuery, token: cluster.Token);

    private Task<Answer> PostFormAsync(LiveNode node, string path, Dictionary<string, string> form) =>
        SendAsync(HttpMethod.Post, node.Url + path, new FormUrlEncodedContent(form), cluster.Token);

    private Task<Answer> PostJsonAsync(LiveNode node, string path, object body) =>
        SendAsync(HttpMethod.Post, node.Url + path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"), cluster.Token);

    private Task<Answer> GetAsync(LiveNode node, string pathAndQuery) => SendAsync(HttpMethod.Get, node.Url + pathAndQuery, token: cluster.Token);

    private static void AssertMessage(Answer answer, string expected)
    {
        Assert.True(answer.Status == HttpStatusCode.OK, $"expected 200 {{\"message\": \"{expected}\"}}, got {answer}");
        var property = Assert.Single(answer.Json.EnumerateObject());
        Assert.Equal("message", property.Name);
        Assert.Equal(expected, property.Value.GetString());
    }

    private static void AssertStatus(HttpStatusCode expected, Answer answer) =>
        Assert.True(answer.Status == expected, $"expected {(int)expected}, got {answer}");

    // ---------------------------------------------------------------- waiting

    private static async Task WaitAsync(LiveNode node, Func<Task<bool>> condition, int seconds, string what) =>
        await node.WaitUntilAsync(condition, TimeSpan.FromSeconds(seconds), what);

    private async Task<bool> AliveAsync(LiveNode node, string worker, string? token = "")
    {
        var answer = await SendAsync(HttpMethod.Get, node.Url + "/api/workers?status=1", token: token == "" ? cluster.Token : token);
        return answer.Status == HttpStatusCode.OK && answer.Json.TryGetProperty(worker, out var alive) && alive.ValueKind == JsonValueKind.True;
    }

    private async Task<LiveNode> NodeWithW1Async()
    {
        var node = await cluster.EnsureAsync(broker);
        await WaitAsync(node, () => AliveAsync(node, W1), 120, $"{W1} to be alive in the node");
        return node;
    }

    /// <summary>The task as Flower's /api/task/info shows it, once it is known and <paramref name="done"/> holds.</summary>
    private async Task<JsonElement> TaskWhenAsync(LiveNode node, string id, Func<JsonElement, bool> done, int seconds, string what)
    {
        JsonElement last = default;
        await WaitAsync(node, async () =>
        {
            var answer = await GetAsync(node, "/api/task/info/" + id);
            if (answer.Status != HttpStatusCode.OK) return false;
            last = answer.Json;
            return done(last);
        }, seconds, $"task {id} {what}");
        return last;
    }

    private static string State(JsonElement task) => task.GetProperty("state").GetString()!;

    private async Task<JsonElement> WorkerInfoAsync(LiveNode node, string worker)
    {
        var answer = await GetAsync(node, "/api/workers?refresh=1&workername=" + Uri.EscapeDataString(worker));
        AssertStatus(HttpStatusCode.OK, answer);
        return answer.Json.GetProperty(worker);
    }

    private static int PoolSize(JsonElement info) =>
        info.TryGetProperty("stats", out var s) && s.ValueKind == JsonValueKind.Object ? s.GetProperty("pool").GetProperty("processes").GetArrayLength() : -1;

    private static List<string> QueueNames(JsonElement info) =>
        info.TryGetProperty("active_queues", out var q) && q.ValueKind == JsonValueKind.Array
            ? q.EnumerateArray().Select(x => x.GetProperty("name").GetString()!).ToList() : [];

    // ---------------------------------------------------------------- Celery's side

    /// <summary>Sends tasks as an ordinary Celery client does (tests/e2e/send_task.py); their ids.</summary>
    private async Task<string[]> SendTasksAsync(RabbitBroker b, string name, object[] args, object? options = null)
    {
        await using var p = ChildProcess.Start("send", Python,
            [Path.Combine(E2eDir, "send_task.py"), name, JsonSerializer.Serialize(args), JsonSerializer.Serialize(options ?? new { })], E2eDir, CeleryEnv(b));
        var code = await p.TerminateAfterExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"send_task.py exited {code}: {p.Stderr}");
        return p.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>`celery -A e2e_tasks inspect COMMAND --json -d WORKER`, parsed: Celery's own view of the worker.</summary>
    private async Task<JsonElement> CeleryInspectAsync(string command, string worker, params string[] arguments)
    {
        await using var p = ChildProcess.Start("inspect", Python,
            ["-m", "celery", "-A", "e2e_tasks", "inspect", command, .. arguments, "--json", "-d", worker, "--timeout", "5"], E2eDir, CeleryEnv(broker));
        var code = await p.TerminateAfterExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"celery inspect {command} exited {code}: {p.Stdout}\n{p.Stderr}");
        return JsonDocument.Parse(p.Stdout).RootElement.GetProperty(worker);
    }

    /// <summary>
    /// The task's attributes in the worker, as `celery inspect registered ITEM...` prints them
    /// ("e2e_tasks.ticker [rate_limit=30/m]"); an attribute that is None is left out.
    /// </summary>
    private async Task<Dictionary<string, string>> RegisteredInfoAsync(string worker, string task, params string[] items)
    {
        var registered = await CeleryInspectAsync("registered", worker, items);
        var line = registered.EnumerateArray().Select(x => x.GetString()!).Single(l => l == task || l.StartsWith(task + " ["));
        output.WriteLine("celery inspect registered: " + line);
        return line.Length == task.Length ? [] : line[(task.Length + 2)..^1].Split(' ').Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
    }

    /// <summary>One JSON text per value whatever the order of keys and the spelling of numbers.</summary>
    private static string Canonical(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "{" + string.Join(",", e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => JsonSerializer.Serialize(p.Name) + ":" + Canonical(p.Value))) + "}",
        JsonValueKind.Array => "[" + string.Join(",", e.EnumerateArray().Select(Canonical)) + "]",
        JsonValueKind.Number => e.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        _ => e.GetRawText(),
    };

    private void Dump(params ChildProcess?[] processes)
    {
        foreach (var p in processes.Where(p => p is not null))
            output.WriteLine($"--- {p!.Name} (exited: {p.HasExited})\n{LiveNode.Tail(p.Stdout, 2000)}\n{LiveNode.Tail(p.Stderr)}");
    }

    private async Task Diagnosed(Func<Task> body, params ChildProcess?[] more)
    {
        try
        {
            await body();
        }
        catch
        {
            Dump([cluster.Node?.Process, cluster.W1, .. more]);
            throw;
        }
    }

    // ================================================================ facts

    [Fact]
    public Task Revoke_with_terminate_kills_the_running_task_and_the_pool_process_that_ran_it() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        var pidFile = Path.Combine(Path.GetTempPath(), $"sleeper-{Guid.NewGuid():N}.pid");
        try
        {
            var id = Assert.Single(await SendTasksAsync(broker, "e2e_tasks.sleeper", [120, pidFile]));
            await TaskWhenAsync(node, id, t => State(t) == "STARTED", 60, "to be STARTED");
            await WaitAsync(node, () => Task.FromResult(File.Exists(pidFile)), 30, "the sleeper to write its pid");
            var pid = int.Parse(await File.ReadAllTextAsync(pidFile), CultureInfo.InvariantCulture);
            Assert.True(Directory.Exists($"/proc/{pid}"), $"the pool process {pid} runs the sleeper");

            AssertMessage(await PostAsync(node, $"/api/task/revoke/{id}?terminate=true&signal=SIGKILL"), $"Revoked '{id}'");

            var task = await TaskWhenAsync(node, id, t => State(t) == "REVOKED", 30, "to be REVOKED");
            Assert.Equal(W1, task.GetProperty("worker").GetString());
            await WaitAsync(node, () => Task.FromResult(!Directory.Exists($"/proc/{pid}")), 30, $"the pool process {pid} to be gone");
            // The pool replaced it: two processes again, none of them the killed one.
            await WaitAsync(node, async () =>
            {
                var processes = (await WorkerInfoAsync(node, W1)).GetProperty("stats").GetProperty("pool").GetProperty("processes")
                    .EnumerateArray().Select(x => x.GetInt32()).ToList();
                return processes.Count == 2 && !processes.Contains(pid);
            }, 30, "the pool to have two new processes");
        }
        finally
        {
            File.Delete(pidFile);
        }
    });

    [Fact]
    public Task Revoke_without_terminate_flags_a_waiting_task_which_the_worker_then_skips() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        // Held by w1 until its ETA; revoked meanwhile, it never runs.
        var id = Assert.Single(await SendTasksAsync(broker, "e2e_tasks.add", [4, 4], new { countdown = 4 }));
        await TaskWhenAsync(node, id, t => State(t) == "RECEIVED", 30, "to be RECEIVED");

        AssertMessage(await PostFormAsync(node, $"/api/task/revoke/{id}", new() { ["terminate"] = "false" }), $"Revoked '{id}'");
        await WaitAsync(node, async () => (await WorkerInfoAsync(node, W1)).GetProperty("revoked").EnumerateArray().Any(x => x.GetString() == id),
            30, $"{W1}'s inspect revoked to list the task");

        var task = await TaskWhenAsync(node, id, t => State(t) == "REVOKED", 30, "to be REVOKED at its ETA");
        Assert.Equal(JsonValueKind.Null, task.GetProperty("started").ValueKind);
        Assert.Equal(JsonValueKind.Null, task.GetProperty("result").ValueKind);
    });

    [Fact]
    public Task Time_limit_and_rate_limit_answer_celerys_texts_and_take_effect_on_the_worker() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        await WorkerInfoAsync(node, W1); // as Flower's pages do: the node has the worker's registered tasks

        // Time limits (a form body, as Flower's own page sends it). Celery 5.2's prefork worker reads a task's
        // limits into its request class when its consumer starts (worker/request.py create_request_cls), so
        // a changed limit does not end a running worker's tasks sooner; what changes is the task's limits
        // in the worker, which `inspect registered time_limit soft_time_limit` prints.
        AssertMessage(await PostFormAsync(node, "/api/task/timeout/e2e_tasks.slow",
            new() { ["workername"] = W1, ["soft"] = "30", ["hard"] = "45" }), "time limits set successfully");
        var limits = await RegisteredInfoAsync(W1, "e2e_tasks.slow", "time_limit", "soft_time_limit");
        Assert.Equal(45.0, double.Parse(limits["time_limit"], CultureInfo.InvariantCulture));
        Assert.Equal(30.0, double.Parse(limits["soft_time_limit"], CultureInfo.InvariantCulture));

        // Rate limit (query string): 30/m lets one ticker start every 2 s; without it three start within milliseconds.
        AssertMessage(await PostAsync(node, $"/api/task/rate-limit/e2e_tasks.ticker?workername={Uri.EscapeDataString(W1)}&ratelimit=30/m"),
            "new rate limit set successfully");
        Assert.Equal("30/m", (await RegisteredInfoAsync(W1, "e2e_tasks.ticker", "rate_limit"))["rate_limit"]);
        var ids = await SendTasksAsync(broker, "e2e_tasks.ticker", [7], new { count = 3 });
        Assert.Equal(3, ids.Length);
        var started = new List<double>();
        foreach (var id in ids)
        {
            var t = await TaskWhenAsync(node, id, x => State(x) == "SUCCESS", 60, "to succeed");
            started.Add(t.GetProperty("started").GetDouble());
        }
        started.Sort();
        output.WriteLine("ticker started at +" + string.Join(", +", started.Select(s => (s - started[0]).ToString("F2", CultureInfo.InvariantCulture))));
        Assert.True(started[2] - started[0] >= 3.0, $"three tickers at 30/m span at least ~4 s; they spanned {started[2] - started[0]:F2} s");
    });

    [Fact]
    public Task Pool_grow_then_shrink_changes_the_pool_inspect_stats_reports() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        await WaitAsync(node, async () => PoolSize(await WorkerInfoAsync(node, W1)) == 2, 30, "the pool to have its 2 processes");

        AssertMessage(await PostAsync(node, $"/api/worker/pool/grow/{W1}?n=1"), $"Growing '{W1}' worker's pool by 1");
        await WaitAsync(node, async () => PoolSize(await WorkerInfoAsync(node, W1)) == 3, 30, "the pool to grow to 3 processes");

        AssertMessage(await PostFormAsync(node, $"/api/worker/pool/shrink/{W1}", new() { ["n"] = "1" }), $"Shrinking '{W1}' worker's pool by 1");
        await WaitAsync(node, async () => PoolSize(await WorkerInfoAsync(node, W1)) == 2, 30, "the pool to shrink back to 2 processes");

        // n defaults to 1.
        AssertMessage(await PostAsync(node, $"/api/worker/pool/grow/{W1}"), $"Growing '{W1}' worker's pool by 1");
        await WaitAsync(node, async () => PoolSize(await WorkerInfoAsync(node, W1)) == 3, 30, "the pool to grow to 3 processes again");
        AssertMessage(await PostAsync(node, $"/api/worker/pool/shrink/{W1}"), $"Shrinking '{W1}' worker's pool by 1");
        await WaitAsync(node, async () => PoolSize(await WorkerInfoAsync(node, W1)) == 2, 30, "the pool to be back at 2 processes");
    });

    [Fact]
    public Task Pool_restart_and_autoscale_refused_by_the_worker_are_403_with_celerys_reason() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        // worker_pool_restarts is off and w1 has no --autoscale: Celery raises ValueError, and the pidbox replies {'error': repr(exc)}.
        var restart = await PostAsync(node, $"/api/worker/pool/restart/{W1}");
        AssertStatus(HttpStatusCode.Forbidden, restart);
        Assert.Equal($"Failed to restart the '{W1}' pool: ValueError('Pool restarts not enabled')", restart.Body);

        var autoscale = await PostAsync(node, $"/api/worker/pool/autoscale/{W1}?min=1&max=3");
        AssertStatus(HttpStatusCode.Forbidden, autoscale);
        Assert.Equal($"Failed to autoscale '{W1}' worker: ValueError('Autoscale not enabled')", autoscale.Body);
    });

    [Fact]
    public Task Add_consumer_makes_the_worker_run_a_task_sent_to_the_new_queue_and_cancel_consumer_undoes_it() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        const string queue = "ctl.extra";
        Assert.DoesNotContain(queue, QueueNames(await WorkerInfoAsync(node, W1)));

        AssertMessage(await PostFormAsync(node, $"/api/worker/queue/add-consumer/{W1}", new() { ["queue"] = queue }), $"add consumer {queue}");
        await WaitAsync(node, async () => QueueNames(await WorkerInfoAsync(node, W1)).Contains(queue), 30, $"{W1} to consume {queue}");

        var sent = await PostJsonAsync(node, "/api/task/send-task/e2e_tasks.add", new Dictionary<string, object> { ["args"] = new[] { 20, 22 }, ["queue"] = queue });
        AssertStatus(HttpStatusCode.OK, sent);
        var id = sent.Json.GetProperty("task-id").GetString()!;
        var task = await TaskWhenAsync(node, id, t => State(t) == "SUCCESS", 60, "sent to the new queue to succeed");
        Assert.Equal("42", task.GetProperty("result").GetString());
        Assert.Equal(W1, task.GetProperty("worker").GetString());

        AssertMessage(await PostAsync(node, $"/api/worker/queue/cancel-consumer/{W1}?queue={queue}"), $"no longer consuming from {queue}");
        await WaitAsync(node, async () => !QueueNames(await WorkerInfoAsync(node, W1)).Contains(queue), 30, $"{W1} to stop consuming {queue}");
    });

    [Fact]
    public Task Shutdown_stops_the_worker_and_the_monitor_sees_it_go_offline() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        const string name = "down@ctl";
        await using var worker = StartWorker(broker, name, "-Q", "ctl.down", "-c", "1");
        try
        {
            await WaitAsync(node, () => AliveAsync(node, name), 120, $"{name} to be alive in the node");

            AssertMessage(await PostAsync(node, $"/api/worker/shutdown/{name}"), "Shutting down!");

            await worker.TerminateAfterExitAsync(TimeSpan.FromSeconds(60));
            Assert.Contains(worker.Stderr.Split('\n'), l => l.Contains("Got shutdown from remote"));
            await WaitAsync(node, async () => !await AliveAsync(node, name), 30, $"{name} to be offline in the node");
            Assert.True(await AliveAsync(node, W1), "the other worker is untouched");

            // The node still knows the worker, which no longer answers: Flower waits its timeout for a
            // reply, gets none and answers 403 (its reason is 'Unknown reason'; the node names the silence).
            var unanswered = await PostAsync(node, $"/api/worker/pool/grow/{name}?n=1");
            AssertStatus(HttpStatusCode.Forbidden, unanswered);
            Assert.StartsWith($"Failed to grow '{name}' worker's pool: ", unanswered.Body);
            Assert.True(unanswered.Elapsed < TimeSpan.FromSeconds(15), $"no reply is waited for {unanswered.Elapsed.TotalSeconds:F1} s");
        }
        catch
        {
            Dump(worker);
            throw;
        }
    });

    [Fact]
    public Task Refresh_adds_the_inspect_replies_celerys_own_command_line_prints() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        var info = await WorkerInfoAsync(node, W1);
        foreach (var key in new[] { "stats", "registered", "active_queues", "active", "scheduled", "reserved", "revoked", "conf", "timestamp" })
            Assert.True(info.TryGetProperty(key, out _), $"/api/workers?refresh=1 has no '{key}' for {W1}: {info}");
        Assert.Equal(W1, info.GetProperty("hostname").GetString()); // the event fields stay
        Assert.Equal(JsonValueKind.Number, info.GetProperty("timestamp").ValueKind);
        Assert.Equal(cluster.W1!.Pid, info.GetProperty("stats").GetProperty("pid").GetInt32());
        Assert.Equal(JsonValueKind.Array, info.GetProperty("active").ValueKind);
        Assert.Equal(JsonValueKind.Object, info.GetProperty("conf").ValueKind);

        // Without workername every worker is refreshed.
        var all = await GetAsync(node, "/api/workers?refresh=1");
        AssertStatus(HttpStatusCode.OK, all);
        Assert.Equal(cluster.W1!.Pid, all.Json.GetProperty(W1).GetProperty("stats").GetProperty("pid").GetInt32());

        var registered = await CeleryInspectAsync("registered", W1);
        Assert.Equal(registered.EnumerateArray().Select(x => x.GetString()).Order(), info.GetProperty("registered").EnumerateArray().Select(x => x.GetString()).Order());
        Assert.Contains("e2e_tasks.sleeper", info.GetProperty("registered").EnumerateArray().Select(x => x.GetString()));

        var queues = await CeleryInspectAsync("active_queues", W1);
        Assert.Equal(Canonical(queues), Canonical(info.GetProperty("active_queues")));

        // Without refresh the node still answers the same keys (Flower keeps the last inspect replies).
        var cached = await GetAsync(node, "/api/workers?workername=" + Uri.EscapeDataString(W1));
        AssertStatus(HttpStatusCode.OK, cached);
        Assert.True(cached.Json.GetProperty(W1).TryGetProperty("registered", out _), $"the last inspect replies are kept: {cached}");
    });

    [Fact]
    public Task Queue_lengths_count_the_messages_waiting_in_the_queues_workers_consume() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        const string name = "busy@ctl", queue = "ctl.busy";
        // One process that takes one message at a time: of four long tasks, two at least wait in the queue.
        await using var worker = StartWorker(broker, name, "-Q", queue, "-c", "1", "--prefetch-multiplier", "1");
        try
        {
            await WaitAsync(node, () => AliveAsync(node, name), 120, $"{name} to be alive in the node");
            await WaitAsync(node, async () => QueueNames(await WorkerInfoAsync(node, name)).Contains(queue), 30, $"{name}'s queue in its inspect replies");
            await SendTasksAsync(broker, "e2e_tasks.sleeper", [30], new { count = 4, queue });

            JsonElement lengths = default;
            await WaitAsync(node, async () =>
            {
                var answer = await GetAsync(node, "/api/queues/length");
                if (answer.Status != HttpStatusCode.OK) return false;
                lengths = answer.Json;
                return lengths.GetProperty("active_queues").EnumerateArray()
                    .Any(q => q.GetProperty("name").GetString() == queue && q.GetProperty("messages").GetInt32() >= 2);
            }, 30, $"{queue} to show the waiting messages");
            var names = lengths.GetProperty("active_queues").EnumerateArray().Select(q => q.GetProperty("name").GetString()).ToList();
            Assert.Contains("e2e.tasks", names); // w1's
            Assert.Contains(queue, names);
            Assert.Equal(names.Count, names.Distinct().Count());
            foreach (var q in lengths.GetProperty("active_queues").EnumerateArray())
                Assert.True(q.GetProperty("messages").GetInt32() >= 0);
        }
        catch
        {
            Dump(worker);
            throw;
        }
    });

    [Fact]
    public Task Async_apply_and_send_task_run_the_task_on_a_worker_and_its_events_come_back() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();

        // A queue named (async-apply without one: the next fact); send-task without one: the node's default-queue.
        var applied = await PostJsonAsync(node, "/api/task/async-apply/e2e_tasks.add",
            new Dictionary<string, object> { ["args"] = new[] { 1, 2 }, ["queue"] = "e2e.tasks" });
        AssertStatus(HttpStatusCode.OK, applied);
        var appliedId = applied.Json.GetProperty("task-id").GetString()!;
        Assert.True(Guid.TryParse(appliedId, out _), $"task-id is a UUID: {applied}");
        Assert.False(applied.Json.TryGetProperty("state", out _), "no state without a result backend (Flower writes it only with one)");
        var a = await TaskWhenAsync(node, appliedId, t => State(t) == "SUCCESS", 60, "applied by async-apply to succeed");
        Assert.Equal("e2e_tasks.add", a.GetProperty("name").GetString());
        Assert.Equal("3", a.GetProperty("result").GetString());
        Assert.Equal(W1, a.GetProperty("worker").GetString());

        var sent = await PostJsonAsync(node, "/api/task/send-task/e2e_tasks.add",
            new Dictionary<string, object> { ["kwargs"] = new Dictionary<string, int> { ["x"] = 5, ["y"] = 6 }, ["countdown"] = 1 });
        AssertStatus(HttpStatusCode.OK, sent);
        var sentId = sent.Json.GetProperty("task-id").GetString()!;
        var s = await TaskWhenAsync(node, sentId, t => State(t) == "SUCCESS", 60, "sent by send-task to succeed");
        Assert.Equal("11", s.GetProperty("result").GetString());
        Assert.Equal(JsonValueKind.String, s.GetProperty("eta").ValueKind); // the countdown became an ETA

        // Nothing to wait on without a result backend.
        var apply = await PostJsonAsync(node, "/api/task/apply/e2e_tasks.add", new Dictionary<string, object> { ["args"] = new[] { 1, 2 } });
        AssertStatus(HttpStatusCode.NotImplemented, apply);
        Assert.Equal(JsonValueKind.String, apply.Json.GetProperty("error").ValueKind);
        var result = await GetAsync(node, "/api/task/result/" + appliedId);
        AssertStatus(HttpStatusCode.NotImplemented, result);
        Assert.Equal(JsonValueKind.String, result.Json.GetProperty("error").ValueKind);
    });

    [Fact]
    public Task Async_apply_without_a_queue_sends_the_task_where_an_online_worker_that_registered_it_consumes() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        // A worker that also registered e2e_tasks.echo, on a queue of its own, seen by an inspect, then gone.
        const string name = "a-gone@ctl", queue = "ctl.gone";
        await using (var gone = StartWorker(broker, name, "-Q", queue, "-c", "1"))
        {
            await WaitAsync(node, () => AliveAsync(node, name), 120, $"{name} to be alive in the node");
            Assert.Contains(queue, QueueNames(await WorkerInfoAsync(node, name)));
            await gone.TerminateAsync(TimeSpan.FromSeconds(60)); // warm shutdown: worker-offline
            await WaitAsync(node, async () => !await AliveAsync(node, name), 30, $"{name} to be offline in the node");
        }

        // No earlier run of e2e_tasks.echo, no queue in the options: w1, online, registered it and consumes e2e.tasks.
        var applied = await PostJsonAsync(node, "/api/task/async-apply/e2e_tasks.echo", new Dictionary<string, object> { ["args"] = new[] { "hello" } });
        AssertStatus(HttpStatusCode.OK, applied);
        var id = applied.Json.GetProperty("task-id").GetString()!;
        var task = await TaskWhenAsync(node, id, t => State(t) == "SUCCESS", 30, "applied without a queue to succeed on an online worker");
        Assert.Equal(W1, task.GetProperty("worker").GetString());
    });

    [Fact]
    public Task Control_needs_credentials_is_refused_read_only_and_unknown_workers_and_tasks_are_404() => Diagnosed(async () =>
    {
        var node = await NodeWithW1Async();
        var anyTask = Guid.NewGuid().ToString();
        var routes = new[]
        {
            $"/api/worker/shutdown/{W1}", $"/api/worker/pool/restart/{W1}", $"/api/worker/pool/grow/{W1}?n=1",
            $"/api/worker/pool/shrink/{W1}?n=1", $"/api/worker/pool/autoscale/{W1}?min=1&max=2",
            $"/api/worker/queue/add-consumer/{W1}?queue=ctl.never", $"/api/worker/queue/cancel-consumer/{W1}?queue=ctl.never",
            $"/api/task/revoke/{anyTask}", $"/api/task/rate-limit/e2e_tasks.ticker?workername={W1}&ratelimit=1/s",
            $"/api/task/timeout/e2e_tasks.ticker?workername={W1}&soft=5&hard=10",
            "/api/task/async-apply/e2e_tasks.add", "/api/task/send-task/e2e_tasks.add",
        };

        // No credentials, or wrong ones, even on loopback: 401, and the worker got nothing (it still runs).
        foreach (var route in routes)
        {
            AssertStatus(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Post, node.Url + route));
            AssertStatus(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Post, node.Url + route, token: cluster.Token + "x"));
        }
        Assert.False(cluster.W1!.HasExited);
        Assert.True(await AliveAsync(node, W1));

        // Unknown worker or task: 404 (Flower checks before it sends anything).
        const string nobody = "nobody@ctl";
        foreach (var route in new[]
                 {
                     $"/api/worker/shutdown/{nobody}", $"/api/worker/pool/restart/{nobody}", $"/api/worker/pool/grow/{nobody}",
                     $"/api/worker/pool/shrink/{nobody}", $"/api/worker/pool/autoscale/{nobody}?min=1&max=2",
                     $"/api/worker/queue/add-consumer/{nobody}?queue=q", $"/api/worker/queue/cancel-consumer/{nobody}?queue=q",
                     $"/api/task/rate-limit/e2e_tasks.ticker?workername={nobody}&ratelimit=1/s",
                     $"/api/task/timeout/e2e_tasks.ticker?workername={nobody}&soft=1&hard=2",
                     $"/api/task/rate-limit/e2e_tasks.no_such_task?workername={W1}&ratelimit=1/s",
                     $"/api/task/timeout/e2e_tasks.no_such_task?workername={W1}&soft=1&hard=2",
                 })
            AssertStatus(HttpStatusCode.NotFound, await PostAsync(node, route));
        AssertStatus(HttpStatusCode.NotFound, await GetAsync(node, $"/api/workers?refresh=1&workername={nobody}"));

        // A read-only node refuses every control route with 403, credentials or not in the way.
        await using var readOnly = await LiveNode.StartAsync(broker.Url, "--http-token-file", cluster.TokenFile, "--read-only");
        try
        {
            await WaitAsync(readOnly, () => AliveAsync(readOnly, W1), 60, $"{W1} to be alive in the read-only node");
            foreach (var route in routes)
                AssertStatus(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, readOnly.Url + route,
                    route.Contains("apply") || route.Contains("send-task") ? new StringContent("{\"args\": [1, 2]}", Encoding.UTF8, "application/json") : null,
                    cluster.Token));
            Assert.False(cluster.W1.HasExited); // the shutdown above was refused
        }
        catch
        {
            Dump(readOnly.Process);
            throw;
        }
    });

    [Fact]
    public async Task Control_without_a_broker_answers_503_within_its_timeout_and_works_without_credentials_when_allowed()
    {
        // A broker of this fact's own, stopped once its worker is known.
        var own = new RabbitBroker();
        await own.InitializeAsync();
        ChildProcess? worker = null;
        LiveNode? node = null;
        try
        {
            node = await LiveNode.StartAsync(own.Url, "--allow-control-without-credentials");
            const string name = "far@ctl";
            worker = StartWorker(own, name, "-c", "1");
            await WaitAsync(node, () => AliveAsync(node, name, token: null), 120, $"{name} to be alive in the node");

            // Loopback and --allow-control-without-credentials: control without a token.
            AssertMessage(await SendAsync(HttpMethod.Post, node.Url + $"/api/worker/pool/grow/{name}?n=1"), $"Growing '{name}' worker's pool by 1");

            await own.StopAsync();
            var bound = TimeSpan.FromSeconds(15);
            foreach (var (method, route) in new[]
                     {
                         (HttpMethod.Post, $"/api/worker/pool/shrink/{name}?n=1"),
                         (HttpMethod.Post, $"/api/task/revoke/{Guid.NewGuid()}"),
                         (HttpMethod.Post, $"/api/worker/shutdown/{name}"),
                         (HttpMethod.Get, "/api/workers?refresh=1"),
                     })
            {
                var answer = await SendAsync(method, node.Url + route);
                AssertStatus(HttpStatusCode.ServiceUnavailable, answer);
                Assert.True(answer.Elapsed < bound, $"{method} {route} took {answer.Elapsed.TotalSeconds:F1} s (bound {bound.TotalSeconds} s)");
            }
            var send = await SendAsync(HttpMethod.Post, node.Url + "/api/task/async-apply/e2e_tasks.add",
                new StringContent("{\"args\": [1, 2]}", Encoding.UTF8, "application/json"));
            AssertStatus(HttpStatusCode.ServiceUnavailable, send);
            Assert.True(send.Elapsed < bound, $"async-apply took {send.Elapsed.TotalSeconds:F1} s");
        }
        catch
        {
            Dump(node?.Process, worker);
            throw;
        }
        finally
        {
            if (worker is not null) await worker.DisposeAsync();
            if (node is not null) await node.DisposeAsync();
            await own.DisposeAsync();
        }
    }
}
