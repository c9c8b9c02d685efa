using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// The HTTP query API of an in-process node (SQLite file, no broker) fed with a corpus capture:
/// our /api/query endpoints and Flower's, against Celery's expected state and Flower's semantics
/// over it (see QueryReference), and the request limits.
/// </summary>
public sealed class QueryApiFixture : IAsyncLifetime
{
    public const string CorpusName = "synth-2k-shuffled";
    private FedHttpNode _node = null!;

    public QueryReference Reference { get; } = new(CorpusName);
    public string Url => _node.Url;

    public async Task InitializeAsync()
    {
        using var capture = File.OpenRead(Corpus.Capture(CorpusName));
        _node = await FedHttpNode.StartAsync(capture, "actormonitor.receiver.utcoffset = 0", drainSeconds: 30);
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();
}

public sealed class QueryApiTests(QueryApiFixture fixture) : IClassFixture<QueryApiFixture>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly QueryReference _reference = fixture.Reference;
    private readonly string _url = fixture.Url;

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path)
    {
        using var r = await Http.GetAsync(_url + path);
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private async Task<JsonElement> OkAsync(string path)
    {
        var (status, body) = await GetAsync(path);
        Assert.True(status == HttpStatusCode.OK, $"{path}: {(int)status} {body}");
        return body;
    }

    private static string E(string s) => Uri.EscapeDataString(s);

    [Fact]
    public async Task Our_tasks_endpoint_pages_filters_and_sorts_as_celery_state_says()
    {
        var all = _reference.Tasks;
        // fresh=true: the node checkpoints before reading, so the page covers every event fed.
        var first = await OkAsync("/api/query/tasks?fresh=true");
        Assert.Equal(all.Count, first.GetProperty("total").GetInt64());
        Assert.Equal(50, first.GetProperty("limit").GetInt32());
        Assert.Equal(0, first.GetProperty("offset").GetInt32());
        var expectedFirst = QueryReference.Order(all, "received", true).Take(50).ToList();
        var tasks = first.GetProperty("tasks").EnumerateArray().ToList();
        Assert.Equal(expectedFirst.Select(t => t.Uuid), tasks.Select(t => t.GetProperty("uuid").GetString()));
        // Each task is the oracle's tasks[uuid], field for field.
        foreach (var (e, got) in expectedFirst.Zip(tasks))
        {
            Assert.Equal(e.Json.EnumerateObject().Select(p => p.Name).Order(), got.EnumerateObject().Select(p => p.Name).Order());
            Assert.True(StateComparison.Same(e.Json, got), e.Uuid);
        }

        var worker = all.Select(t => t.Str("worker")).OfType<string>().Distinct().Order(StringComparer.Ordinal).Last();
        var name = all.Select(t => t.Str("name")).OfType<string>().Distinct().Order(StringComparer.Ordinal).First();
        var started = all.Select(t => t.Num("started")).OfType<double>().Order().ToList();
        double since = started[started.Count / 5], until = started[started.Count * 4 / 5];
        var cases = new (string Query, List<ExpectedTask> Expected)[]
        {
            ("state=FAILURE&sort=failed&order=asc&limit=20&offset=5",
                QueryReference.Order(all.Where(t => t.Str("state") == "FAILURE"), "failed", false).Skip(5).Take(20).ToList()),
            ($"name={E(name)}&time_field=started&since={since.ToString("R", CultureInfo.InvariantCulture)}&until={until.ToString("R", CultureInfo.InvariantCulture)}&sort=started&limit=1000",
                QueryReference.Order(all.Where(t => t.Str("name") == name && t.Num("started") >= since && t.Num("started") <= until), "started", true).ToList()),
            ($"worker={E(worker)}&sort=name&order=desc&limit=100&offset=100",
                QueryReference.Order(all.Where(t => t.Str("worker") == worker), "name", true).Skip(100).Take(100).ToList()),
            ($"search={E("bad input 1")}&sort=timestamp&limit=1000",
                QueryReference.Order(all.Where(t => t.Text("exception")?.Contains("bad input 1") == true), "timestamp", true).ToList()),
        };
        foreach (var (query, expected) in cases)
        {
            var body = await OkAsync("/api/query/tasks?" + query);
            Assert.Equal(expected.Select(t => t.Uuid), body.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("uuid").GetString()));
        }
        var failures = all.Count(t => t.Str("state") == "FAILURE");
        Assert.Equal(failures, (await OkAsync("/api/query/tasks?state=FAILURE&limit=1")).GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task Counts_equal_celery_state()
    {
        var all = _reference.Tasks;
        await OkAsync("/api/query/tasks?fresh=true&limit=1");
        foreach (var (query, tasks) in new[] { ("", all.ToList()), ("?state=SUCCESS", all.Where(t => t.Str("state") == "SUCCESS").ToList()) })
        {
            var counts = await OkAsync("/api/query/counts" + query);
            Assert.Equal(tasks.Count, counts.GetProperty("total").GetInt64());
            foreach (var (key, field) in new[] { ("by_state", "state"), ("by_name", "name"), ("by_worker", "worker") })
                Assert.Equal(tasks.GroupBy(t => t.Str(field)!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}"),
                    counts.GetProperty(key).EnumerateObject().Select(p => $"{p.Name}={p.Value.GetInt64()}"));
        }
    }

    /// <summary>Flower's ListTasks, TaskInfo, ListTaskTypes and ListWorkers: Flower's parameters, order and shapes.</summary>
    [Fact]
    public async Task Flower_api_lists_what_flower_would()
    {
        await OkAsync("/api/query/tasks?fresh=true&limit=1");
        var all = _reference.Tasks;
        var worker = all.Select(t => t.Str("worker")).OfType<string>().Distinct().Order(StringComparer.Ordinal).First();
        // received_start/end: Flower reads 'YYYY-MM-DD HH:MM' as local time (time.mktime); the corpus spans
        // about a second, so a range around it and one before it.
        var firstReceived = all.Min(t => t.Num("received")!.Value);
        var local = DateTimeOffset.FromUnixTimeMilliseconds((long)(firstReceived * 1000)).ToLocalTime();
        var start = local.AddMinutes(-1).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        var end = local.AddMinutes(2).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        var startEpoch = PythonMktime(start);
        var endEpoch = PythonMktime(end);

        var cases = new (string Query, List<ExpectedTask> Expected)[]
        {
            ("limit=25", _reference.Flower(limit: 25)),
            ("limit=10&offset=30&sort_by=-started", _reference.Flower(limit: 10, offset: 30, sortBy: "-started")),
            ($"limit=1000&workername={E(worker)}&taskname=app.tasks.add&state=SUCCESS", _reference.Flower(limit: 1000, workername: worker, taskname: "app.tasks.add", state: "SUCCESS")),
            ($"limit=50&sort_by=name&received_start={E(start)}&received_end={E(end)}", _reference.Flower(limit: 50, sortBy: "name", receivedStart: startEpoch, receivedEnd: endEpoch)),
            ($"limit=50&received_end={E(local.AddDays(-1).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture))}", []),
            ($"limit=1000&search={E("state:FAILURE args:\"(1\"")}", _reference.Flower(limit: 1000, search: "state:FAILURE args:\"(1\"")),
            ($"limit=1000&search={E("result:12 kwargs:a=1")}&state=All&workername=All", _reference.Flower(limit: 1000, search: "result:12 kwargs:a=1")),
            ($"limit=100&search={E("charge_card")}&sort_by=received", _reference.Flower(limit: 100, search: "charge_card", sortBy: "received")),
        };
        foreach (var (query, expected) in cases)
        {
            var body = await OkAsync("/api/tasks?" + query);
            Assert.Equal(expected.Select(t => t.Uuid), body.EnumerateObject().Select(p => p.Name));
            foreach (var p in body.EnumerateObject().Take(20))
                AssertFlowerTask(_reference[p.Name], p.Value, workerLast: true);
        }
        // No limit: Flower lists every task; a page here is bounded.
        Assert.Equal(Math.Min(all.Count, FlowerQueryApi.FlowerDefaultLimit), (await OkAsync("/api/tasks")).EnumerateObject().Count());

        var some = all[17];
        AssertFlowerTask(some, await OkAsync("/api/task/info/" + some.Uuid), workerLast: false);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/task/info/no-such-task")).Status);
        // Our one-task route keeps the oracle's schema (what `state --task` prints).
        Assert.True(StateComparison.Same(some.Json, await OkAsync("/api/query/task/" + some.Uuid)));

        var types = await OkAsync("/api/task/types");
        Assert.Equal(_reference.Document.RootElement.GetProperty("task_types").EnumerateArray().Select(t => t.GetString()),
            types.GetProperty("task-types").EnumerateArray().Select(t => t.GetString()));

        var asOf = _reference.Document.RootElement.GetProperty("as_of").GetDouble().ToString("R", CultureInfo.InvariantCulture);
        var expectedWorkers = _reference.Document.RootElement.GetProperty("workers");
        var status = await OkAsync("/api/workers?status=true&as_of=" + asOf);
        Assert.Equal(expectedWorkers.EnumerateObject().Select(w => $"{w.Name}={w.Value.GetProperty("alive").GetBoolean()}").Order(),
            status.EnumerateObject().Select(w => $"{w.Name}={w.Value.GetBoolean()}").Order());
        var workers = await OkAsync("/api/workers?refresh=true&as_of=" + asOf);
        foreach (var w in expectedWorkers.EnumerateObject())
        {
            var got = workers.GetProperty(w.Name);
            foreach (var field in w.Value.EnumerateObject())
                Assert.True(StateComparison.Same(field.Value, got.GetProperty(field.Name)), $"{w.Name}.{field.Name}");
            Assert.Equal(w.Value.GetProperty("alive").GetBoolean() ? "ONLINE" : "OFFLINE", got.GetProperty("status").GetString());
        }
        var one = expectedWorkers.EnumerateObject().First().Name;
        Assert.Equal([one], (await OkAsync("/api/workers?workername=" + E(one))).EnumerateObject().Select(p => p.Name));
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync("/api/workers?workername=nobody")).Status);
    }

    // Celery's Task.as_dict() keys, in order, as Flower writes them.
    private static readonly string[] AsDict =
    [
        "uuid", "name", "state", "received", "sent", "started", "rejected", "succeeded", "failed", "retried", "revoked", "args", "kwargs",
        "eta", "expires", "retries", "worker", "result", "exception", "timestamp", "runtime", "traceback", "exchange", "routing_key",
        "clock", "client", "root", "root_id", "parent", "parent_id", "children",
    ];

    private static void AssertFlowerTask(ExpectedTask e, JsonElement got, bool workerLast)
    {
        var keys = AsDict.Where(k => !(workerLast && k == "worker")).ToList();
        if (workerLast && e.Str("worker") is not null) keys.Add("worker");
        Assert.Equal(keys, got.EnumerateObject().Select(p => p.Name));
        foreach (var p in got.EnumerateObject())
        {
            var source = p.Name switch { "root" => "root_id", "parent" => "parent_id", _ => p.Name };
            Assert.True(StateComparison.Same(e.Json.GetProperty(source), p.Value), $"{e.Uuid}.{p.Name}");
        }
    }

    /// <summary>Python's time.mktime(datetime.strptime(text, '%Y-%m-%d %H:%M').timetuple()), as Flower converts.</summary>
    private static double PythonMktime(string text)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c",
            "import sys, time, datetime; print(repr(time.mktime(datetime.datetime.strptime(sys.argv[1], '%Y-%m-%d %H:%M').timetuple())))", text])
        { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return double.Parse(output.Trim(), CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("/api/query/tasks?limit=0", "limit")]
    [InlineData("/api/query/tasks?limit=1001", "limit")]
    [InlineData("/api/query/tasks?limit=ten", "limit")]
    [InlineData("/api/query/tasks?offset=-1", "offset")]
    [InlineData("/api/query/tasks?offset=100001", "offset")]
    [InlineData("/api/query/tasks?sort=uuid", "sort")]
    [InlineData("/api/query/tasks?order=up", "order")]
    [InlineData("/api/query/tasks?time_field=eta", "time_field")]
    [InlineData("/api/query/tasks?since=yesterday", "since")]
    [InlineData("/api/query/tasks?until=NaN", "until")]
    [InlineData("/api/query/tasks?state=DONE", "state")]
    [InlineData("/api/query/tasks?fresh=maybe", "fresh")]
    [InlineData("/api/query/tasks?state=SUCCESS&state=FAILURE", "state")]
    [InlineData("/api/query/counts?state=DONE", "state")]
    [InlineData("/api/tasks?limit=0", "limit")]
    [InlineData("/api/tasks?limit=5000", "limit")]
    [InlineData("/api/tasks?offset=-3", "offset")]
    [InlineData("/api/tasks?sort_by=-clock", "sort_by")]
    [InlineData("/api/tasks?received_start=2026-01-01", "received_start")]
    [InlineData("/api/tasks?received_end=01/02/2026%2010:00", "received_end")]
    [InlineData("/api/tasks?state=DONE", "state")]
    [InlineData("/api/tasks?search=kwargs:novalue", "kwargs")]
    [InlineData("/api/workers?status=maybe", "status")]
    // Parameters our routes do not use: 400, not an answer as if they were absent (Flower's names, a page of counts).
    [InlineData("/api/query/tasks?sort_by=name", "sort_by")]
    [InlineData("/api/query/tasks?received_start=2026-01-01%2010:00", "received_start")]
    [InlineData("/api/query/tasks?taskname=tasks.add", "taskname")]
    [InlineData("/api/query/counts?limit=-1", "limit")]
    [InlineData("/api/query/counts?offset=-5", "offset")]
    [InlineData("/api/query/counts?sort=name", "sort")]
    [InlineData("/api/query/task/abc?fresh=1", "fresh")]
    [InlineData("/api/workers?limit=0", "limit")]
    [InlineData("/api/workers?offset=-1", "offset")]
    [InlineData("/api/dashboard/workers?limit=20000", "limit")]
    [InlineData("/api/dashboard/workers?offset=x", "offset")]
    public async Task Requests_outside_the_limits_are_400_with_the_reason(string path, string mentioned)
    {
        var (status, body) = await GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(mentioned, body.GetProperty("error").GetString());
    }

    [Theory]
    [InlineData("/healthcheck")]
    [InlineData("/api/state")]
    [InlineData("/api/stats")]
    [InlineData("/api/query/tasks?limit=5")]
    [InlineData("/api/query/counts")]
    [InlineData("/api/tasks?limit=5")]
    [InlineData("/api/workers")]
    [InlineData("/api/dashboard/workers")]
    [InlineData("/metrics")]
    [InlineData("/")]
    [InlineData("/api/query/tasks?limit=0")]
    public async Task Every_get_route_answers_head_with_the_same_status_and_headers_and_no_body(string path)
    {
        using var get = await Http.GetAsync(_url + path);
        using var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, _url + path));
        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_search_over_256_characters_is_400_and_the_other_routes_still_answer()
    {
        var longText = new string('x', 257);
        foreach (var path in new[] { "/api/query/tasks?search=", "/api/tasks?search=" })
        {
            var (status, body) = await GetAsync(path + longText);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("256", body.GetProperty("error").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/api/query/tasks?search=" + new string('x', 256))).Status);
        var state = await OkAsync("/api/state");
        Assert.Equal(_reference.Tasks.Count, state.GetProperty("tasks").EnumerateObject().Count());
        using var health = await Http.GetAsync(_url + "/healthcheck");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
