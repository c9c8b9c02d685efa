using System.Text.Json;
using ActorMonitor.Host.Tests;
using ActorMonitor.Tests.Shared;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ActorMonitor.Dashboard.Tests;

/// <summary>
/// The dashboard of a live node in headless Chromium: the corpus's workers with Celery's expiry
/// rule, the task list filtered by state and by name and paged, against Celery's expected state, a task's detail and its
/// parent/child links, then new events published to the broker appear on the page without a
/// reload (pushed by server-sent events), and a screenshot of it.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DashboardTests(RabbitBroker broker, ITestOutputHelper output) : IClassFixture<RabbitBroker>, IAsyncLifetime
{
    private const string CorpusName = "real-mixed-1";

    private Chromium _chromium = null!;

    public async Task InitializeAsync() => _chromium = await Chromium.LaunchAsync();

    public async Task DisposeAsync() => await _chromium.DisposeAsync();

    [Fact]
    public async Task Shows_workers_filters_tasks_follows_links_and_updates_live()
    {
        var capture = Corpus.Capture(CorpusName);
        var total = File.ReadLines(capture).Count(l => l.Trim().Length > 0);
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Corpus.Expected(CorpusName)));
        var tasks = expected.RootElement.GetProperty("tasks").EnumerateObject().ToDictionary(t => t.Name, t => t.Value);

        await using var node = await LiveNode.StartAsync(broker.Url, "--config", "actormonitor.receiver.utcoffset = 0");
        Assert.Equal(0, (await Cli.RunAsync("publish", capture, "--broker", broker.Url)).ExitCode);
        await node.WaitUntilAsync(async () => await node.MessagesAsync() == total, TimeSpan.FromSeconds(60), "the corpus applied");

        var page = await _chromium.Browser.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(node.Url + "/");
        await Assertions.Expect(page).ToHaveTitleAsync("ActorMonitor");
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live"); // the event stream is open

        // The corpus's workers, offline (worker-offline cleared their heartbeats).
        var workers = expected.RootElement.GetProperty("workers").EnumerateObject().Select(w => w.Name).Order().ToArray();
        await Assertions.Expect(page.Locator("#workers tbody tr")).ToHaveCountAsync(workers.Length);
        foreach (var w in workers)
        {
            var row = page.Locator($"#workers tbody tr[data-hostname='{w}']");
            await Assertions.Expect(row.Locator("td.status")).ToHaveTextAsync("offline");
            var processed = expected.RootElement.GetProperty("workers").GetProperty(w).GetProperty("processed").GetRawText();
            await Assertions.Expect(row.Locator("td.processed")).ToHaveTextAsync(processed);
        }

        // Filter by state: the rows and the total are those of Celery's state.
        await page.Locator("#filter-limit").SelectOptionAsync("100");
        await page.Locator("#filter-state").SelectOptionAsync("FAILURE");
        await page.Locator("#apply").ClickAsync();
        var failed = tasks.Where(t => t.Value.GetProperty("state").GetString() == "FAILURE").Select(t => t.Key).Order().ToArray();
        await Assertions.Expect(page.Locator("#total")).ToHaveTextAsync($"{failed.Length} tasks");
        await Assertions.Expect(page.Locator("#tasks tbody tr")).ToHaveCountAsync(failed.Length);
        var shown = await page.Locator("#tasks tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.uuid)");
        Assert.Equal(failed, shown.Order());
        await Assertions.Expect(page.Locator("#tasks tbody td.state")).ToHaveTextAsync(failed.Select(_ => "FAILURE").ToArray());

        // A name filter, and pages of 20 of every task.
        await page.Locator("#clear").ClickAsync();
        await page.Locator("#filter-name").FillAsync("tasks.flaky");
        await page.Locator("#apply").ClickAsync();
        var flaky = tasks.Count(t => t.Value.GetProperty("name").GetString() == "tasks.flaky");
        await Assertions.Expect(page.Locator("#total")).ToHaveTextAsync($"{flaky} tasks");
        await Assertions.Expect(page.Locator("#tasks tbody td.name")).ToHaveTextAsync(Enumerable.Repeat("tasks.flaky", flaky).ToArray());
        await page.Locator("#clear").ClickAsync();
        await page.Locator("#filter-limit").SelectOptionAsync("20");
        await Assertions.Expect(page.Locator("#page")).ToHaveTextAsync($"1–20 of {tasks.Count}");
        await Assertions.Expect(page.Locator("#prev")).ToBeDisabledAsync();
        await page.Locator("#next").ClickAsync();
        await Assertions.Expect(page.Locator("#page")).ToHaveTextAsync($"21–40 of {tasks.Count}");
        await Assertions.Expect(page.Locator("#tasks tbody tr")).ToHaveCountAsync(20);

        // Every task on one page; then a child's detail, its parent through the link, and back.
        await page.Locator("#clear").ClickAsync();
        await page.Locator("#filter-limit").SelectOptionAsync("100");
        await Assertions.Expect(page.Locator("#total")).ToHaveTextAsync($"{tasks.Count} tasks");
        await Assertions.Expect(page.Locator("#tasks tbody tr")).ToHaveCountAsync(tasks.Count);
        var (child, parent) = tasks
            .Where(t => t.Value.GetProperty("parent_id").ValueKind == JsonValueKind.String)
            .Select(t => (t.Key, t.Value.GetProperty("parent_id").GetString()!))
            .First(p => p.Item2 != p.Key && tasks.ContainsKey(p.Item2));
        await page.Locator($"#tasks tbody a.task-link[data-uuid='{child}']").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-uuid")).ToHaveTextAsync(child);
        await Assertions.Expect(page.Locator("#detail dd[data-field='state']")).ToHaveTextAsync(tasks[child].GetProperty("state").GetString()!);
        await page.Locator("#detail dd[data-field='parent_id'] a").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-uuid")).ToHaveTextAsync(parent);
        await Assertions.Expect(page.Locator("#detail dd[data-field='name']")).ToHaveTextAsync(tasks[parent].GetProperty("name").GetString()!);
        var children = tasks[parent].GetProperty("children").EnumerateArray().Select(c => c.GetString()!).ToArray();
        await Assertions.Expect(page.Locator("#detail dd[data-field='children'] a")).ToHaveTextAsync(children);
        await page.Locator($"#detail dd[data-field='children'] a[data-uuid='{child}']").ClickAsync();
        await Assertions.Expect(page.Locator("#detail-uuid")).ToHaveTextAsync(child);
        await page.Locator("#close-detail").ClickAsync();
        await Assertions.Expect(page.Locator("#detail")).ToBeHiddenAsync();

        // New events: a worker comes online and starts a new task. The page shows both without a
        // reload (a marker set on the window survives only if the page was never reloaded).
        await page.EvaluateAsync("() => { window.__notReloaded = true; }");
        var updatesBefore = int.Parse(await page.Locator("#updates").TextContentAsync() ?? "0");
        var uuid = Guid.NewGuid().ToString();
        var more = Path.Combine(Path.GetTempPath(), $"more-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllLinesAsync(more, LiveEvents("live@dashboard", uuid));
        Assert.Equal(0, (await Cli.RunAsync("publish", more, "--broker", broker.Url)).ExitCode);
        File.Delete(more);

        var liveRow = page.Locator("#workers tbody tr[data-hostname='live@dashboard']");
        await Assertions.Expect(liveRow.Locator("td.status")).ToHaveTextAsync("online");
        await Assertions.Expect(liveRow.Locator("td.active")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#total")).ToHaveTextAsync($"{tasks.Count + 1} tasks");
        var newRow = page.Locator($"#tasks tbody tr[data-uuid='{uuid}']");
        await Assertions.Expect(newRow.Locator("td.state")).ToHaveTextAsync("STARTED");
        await Assertions.Expect(newRow.Locator("td.worker")).ToHaveTextAsync("live@dashboard");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notReloaded === true"), "the page was reloaded");
        Assert.True(int.Parse(await page.Locator("#updates").TextContentAsync() ?? "0") > updatesBefore, "no update was pushed");

        // What a person sees: a screenshot, and the text of the page.
        var shot = Path.Combine(Repo.Path("tests", "ActorMonitor.Dashboard.Tests", "bin"), "dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        var png = await File.ReadAllBytesAsync(shot);
        Assert.True(png.Length > 1000, "the screenshot is empty");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        output.WriteLine($"screenshot: {shot} ({png.Length} bytes)");
        var body = await page.Locator("body").InnerTextAsync();
        foreach (var w in workers.Append("live@dashboard")) Assert.Contains(w, body);
        Assert.Contains("tasks.add", body);
        Assert.Empty(errors);
    }

    /// <summary>A worker-online (freq 60: alive for two minutes), then task-received and task-started of a new task on it.</summary>
    internal static IEnumerable<string> LiveEvents(string hostname, string uuid)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        yield return Line("worker.online", hostname, new()
        {
            ["hostname"] = hostname, ["utcoffset"] = 0, ["pid"] = 77, ["clock"] = 1, ["freq"] = 60.0, ["active"] = 1, ["processed"] = 0,
            ["loadavg"] = new[] { 0.1, 0.2, 0.3 }, ["sw_ident"] = "py-celery", ["sw_ver"] = "5.2.6", ["sw_sys"] = "Linux",
            ["timestamp"] = now, ["type"] = "worker-online",
        });
        yield return Line("task.received", hostname, new()
        {
            ["hostname"] = hostname, ["utcoffset"] = 0, ["pid"] = 77, ["clock"] = 2, ["uuid"] = uuid, ["name"] = "tasks.add",
            ["args"] = "(40, 2)", ["kwargs"] = "{}", ["root_id"] = uuid, ["parent_id"] = null, ["retries"] = 0, ["eta"] = null,
            ["expires"] = null, ["timestamp"] = now + 0.01, ["type"] = "task-received",
        });
        yield return Line("task.started", hostname, new()
        {
            ["hostname"] = hostname, ["utcoffset"] = 0, ["pid"] = 77, ["clock"] = 3, ["uuid"] = uuid, ["timestamp"] = now + 0.02,
            ["type"] = "task-started",
        });
    }

    private static string Line(string routingKey, string hostname, Dictionary<string, object?> body) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["routing_key"] = routingKey, ["headers"] = new Dictionary<string, string> { ["hostname"] = hostname },
        ["properties"] = new Dictionary<string, object> { ["content_type"] = "application/json", ["content_encoding"] = "utf-8", ["delivery_mode"] = 1 },
        ["body"] = JsonSerializer.Serialize(body),
    });
}
