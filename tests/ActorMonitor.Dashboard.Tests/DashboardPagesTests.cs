using System.Globalization;
using System.Text.Json;
using ActorMonitor.Host.Tests;
using ActorMonitor.Tests.Shared;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ActorMonitor.Dashboard.Tests;

/// <summary>
/// The dashboard's charts, worker page and task page in headless Chromium, against a live node fed
/// with the corpus and a worker that comes online: each chart's drawn points against the node's
/// own figures (/metrics, /api/dashboard/charts) and Celery's expected state, the pixels of its
/// series on the canvas, then a worker page and a task page; screenshots of each are kept.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DashboardPagesTests(RabbitBroker broker, ITestOutputHelper output) : IClassFixture<RabbitBroker>, IAsyncLifetime
{
    private const string CorpusName = "real-mixed-1";
    private static readonly string[] TimeFields = ["sent", "received", "started", "retried", "succeeded", "failed", "rejected", "revoked"];

    private Chromium _chromium = null!;

    public async Task InitializeAsync() => _chromium = await Chromium.LaunchAsync();

    public async Task DisposeAsync() => await _chromium.DisposeAsync();

    [Fact]
    public async Task Charts_draw_the_nodes_figures_and_worker_and_task_pages_show_their_state()
    {
        var capture = Corpus.Capture(CorpusName);
        var total = File.ReadLines(capture).Count(l => l.Trim().Length > 0);
        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Corpus.Expected(CorpusName)));
        var tasks = expected.RootElement.GetProperty("tasks").EnumerateObject().ToDictionary(t => t.Name, t => t.Value);

        await using var node = await LiveNode.StartAsync(broker.Url, "--config", "actormonitor.receiver.utcoffset = 0");
        Assert.Equal(0, (await Cli.RunAsync("publish", capture, "--broker", broker.Url)).ExitCode);
        var uuid = Guid.NewGuid().ToString();
        var more = Path.Combine(Path.GetTempPath(), $"more-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllLinesAsync(more, DashboardTests.LiveEvents("live@pages", uuid));
        Assert.Equal(0, (await Cli.RunAsync("publish", more, "--broker", broker.Url)).ExitCode);
        File.Delete(more);
        await node.WaitUntilAsync(async () => await node.MessagesAsync() == total + 3, TimeSpan.FromSeconds(60), "every message applied");

        var page = await _chromium.Browser.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(node.Url + "/");
        await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live");

        // The node's own count of the task events it applied, by type (/metrics, Flower's series).
        var metricsByType = await TaskEventsByTypeAsync(node.Url);
        Assert.Equal(57, metricsByType["task-succeeded"]);
        var workerEvents = WorkerEventsByType(capture);
        workerEvents["worker-online"] += 1; // live@pages

        // Events/s by type and tasks per interval: the drawn points add up to every event the node applied.
        Drawn drawn = null!;
        await Eventually(async () =>
        {
            drawn = Drawn.From(await page.EvaluateAsync<JsonElement>(DrawnScript));
            foreach (var (type, n) in metricsByType) Assert.Equal(n, Math.Round(drawn.Events.GetValueOrDefault(type)));
            foreach (var (type, n) in workerEvents) Assert.Equal(n, Math.Round(drawn.Events.GetValueOrDefault(type)));
            Assert.Equal(metricsByType.Count + workerEvents.Count, drawn.Events.Count);
            Assert.Equal(metricsByType["task-succeeded"], drawn.Outcomes["succeeded"]);
            Assert.Equal(metricsByType["task-failed"], drawn.Outcomes["failed"]);
            Assert.Equal(metricsByType["task-retried"], drawn.Outcomes["retried"]);
            // Workers online now: the one live worker (the corpus's went offline), as the workers table says.
            Assert.Equal(1, drawn.WorkersOnline);
        });
        await Assertions.Expect(page.Locator("#workers tbody td.status-online")).ToHaveCountAsync(1);

        // The same points as the node's chart history.
        using (var history = JsonDocument.Parse(await new HttpClient().GetStringAsync(node.Url + "/api/dashboard/charts?minutes=15")))
        {
            var step = history.RootElement.GetProperty("step").GetInt32();
            Assert.Equal(step, drawn.Step);
            var succeeded = history.RootElement.GetProperty("buckets").EnumerateArray()
                .Sum(b => b.GetProperty("events").TryGetProperty("task-succeeded", out var n) ? n.GetInt32() : 0);
            Assert.Equal(succeeded, drawn.Outcomes["succeeded"]);
        }

        // Runtime percentiles by task name: each within one bin of the true nearest-rank percentile
        // of the runtimes Celery's state holds for the tasks that succeeded.
        var runtimes = tasks.Values
            .Where(t => t.GetProperty("succeeded").ValueKind == JsonValueKind.Number && t.GetProperty("runtime").ValueKind == JsonValueKind.Number)
            .GroupBy(t => t.GetProperty("name").GetString()!)
            .ToDictionary(g => g.Key, g => g.Select(t => t.GetProperty("runtime").GetDouble()).Order().ToArray());
        Assert.Equal(runtimes.Keys.Order(), drawn.RuntimeNames.Order());
        var binRatio = Math.Pow(10, 1.0 / 16);
        for (var i = 0; i < drawn.RuntimeNames.Length; i++)
        {
            var name = drawn.RuntimeNames[i];
            var values = runtimes[name];
            var row = page.Locator($"#runtime-table tbody tr[data-name='{name}']");
            await Assertions.Expect(row.Locator("td.count")).ToHaveTextAsync(values.Length.ToString("N0", CultureInfo.InvariantCulture));
            foreach (var (q, k, label) in new[] { (0.5, 0, "p50"), (0.9, 1, "p90"), (0.99, 2, "p99") })
            {
                var truth = values[Math.Max(1, (int)Math.Ceiling(q * values.Length)) - 1];
                var shown = drawn.Runtimes[k][i];
                Assert.True(truth <= shown * (1 + 1e-9) && truth > shown / binRatio * (1 - 1e-9), $"{name} {label}: {shown} drawn, {truth} true");
                Assert.Equal(shown, double.Parse((await row.Locator($"td.{label}").GetAttributeAsync("data-seconds"))!, CultureInfo.InvariantCulture));
            }
        }

        // Drawn, not only computed: each chart's canvas holds pixels of its series' colour.
        await Screenshot(page, "dashboard-charts");
        foreach (var (chart, colour) in new[] { ("events", drawn.EventColour), ("outcomes", "#1b7f3b"), ("workers", "#1b7f3b"), ("runtimes", "#2e90fa") })
            Assert.True(await page.EvaluateAsync<int>(PixelsScript, new object[] { chart, colour }) > 20, $"nothing of {colour} drawn on the {chart} chart");

        // A worker page: its fields, its tasks by state as in Celery's state, its newest tasks.
        var hostname = "w1@demo-1";
        await page.Locator($"#workers tbody tr[data-hostname='{hostname}'] a.worker-link").ClickAsync();
        await Assertions.Expect(page.Locator("#worker-page")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#overview")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("#worker-name")).ToHaveTextAsync(hostname);
        await Assertions.Expect(page.Locator("#worker-status")).ToHaveTextAsync("offline");
        var worker = expected.RootElement.GetProperty("workers").GetProperty(hostname);
        await Assertions.Expect(page.Locator("#worker-fields dd[data-field='pid']")).ToHaveTextAsync(worker.GetProperty("pid").GetRawText());
        var mine = tasks.Values.Where(t => t.GetProperty("worker").ValueKind == JsonValueKind.String && t.GetProperty("worker").GetString() == hostname).ToList();
        foreach (var byState in mine.GroupBy(t => t.GetProperty("state").GetString()!))
            await Assertions.Expect(page.Locator($"#worker-counts tr[data-state='{byState.Key}'] td.count")).ToHaveTextAsync(byState.Count().ToString("N0", CultureInfo.InvariantCulture));
        var newest = mine.OrderByDescending(t => t.GetProperty("received").ValueKind == JsonValueKind.Number ? t.GetProperty("received").GetDouble() : double.MinValue)
            .Take(20).Select(t => t.GetProperty("uuid").GetString()!).ToArray();
        await Assertions.Expect(page.Locator("#worker-tasks tbody tr")).ToHaveCountAsync(newest.Length);
        Assert.Equal(newest.Order(), (await page.Locator("#worker-tasks tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.uuid)")).Order());
        await Screenshot(page, "dashboard-worker");

        // A task page from it (the one of those with the most events): its events on a timeline, in time order, and its links.
        var chosen = newest.MaxBy(u => TimeFields.Count(f => tasks[u].GetProperty(f).ValueKind == JsonValueKind.Number))!;
        await page.Locator($"#worker-tasks tbody a.task-link[data-uuid='{chosen}']").ClickAsync();
        await Assertions.Expect(page.Locator("#detail")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#detail-uuid")).ToHaveTextAsync(chosen);
        await Assertions.Expect(page.Locator("#worker-page")).ToBeHiddenAsync();
        var task = tasks[chosen];
        var steps = TimeFields.Where(f => task.GetProperty(f).ValueKind == JsonValueKind.Number)
            .OrderBy(f => task.GetProperty(f).GetDouble()).Select(f => "task-" + f).ToArray();
        Assert.True(steps.Length >= 3, $"{chosen} has {steps.Length} events");
        await Assertions.Expect(page.Locator("#timeline li")).ToHaveCountAsync(steps.Length);
        Assert.Equal(steps, await page.Locator("#timeline li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.type)"));
        await Assertions.Expect(page.Locator("#detail dd[data-field='state']")).ToHaveTextAsync(task.GetProperty("state").GetString()!);
        if (task.GetProperty("root_id").GetString() is { } root)
            await Assertions.Expect(page.Locator("#detail dd[data-field='root_id'] a")).ToHaveTextAsync(root);
        await Screenshot(page, "dashboard-task");
        // Its worker's link leads back to the worker page.
        await page.Locator("#detail dd[data-field='worker'] a.worker-link").ClickAsync();
        await Assertions.Expect(page.Locator("#worker-name")).ToHaveTextAsync(hostname);
        await page.Locator("#close-worker").ClickAsync();
        await Assertions.Expect(page.Locator("#overview")).ToBeVisibleAsync();
        Assert.Empty(errors);
    }

    /// <summary>What the charts drew: summed over the buckets, the runtimes per name, the newest workers-online point.</summary>
    private sealed record Drawn(int Step, Dictionary<string, double> Events, Dictionary<string, double> Outcomes, double? WorkersOnline,
        string[] RuntimeNames, double[][] Runtimes, string EventColour)
    {
        public static Drawn From(JsonElement e)
        {
            Assert.True(e.ValueKind == JsonValueKind.Object, "not every chart is drawn yet"); // null until every chart exists
            // Playwright marks each object it hands over with a "$id" of its own.
            static Dictionary<string, double> Sums(JsonElement o) => o.EnumerateObject().Where(p => !p.Name.StartsWith('$')).ToDictionary(p => p.Name, p => p.Value.GetDouble());
            var online = e.GetProperty("workersOnline");
            return new Drawn(e.GetProperty("step").GetInt32(), Sums(e.GetProperty("events")), Sums(e.GetProperty("outcomes")),
                online.ValueKind == JsonValueKind.Number ? online.GetDouble() : null,
                e.GetProperty("runtimeNames").EnumerateArray().Select(n => n.GetString()!).ToArray(),
                e.GetProperty("runtimes").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray(),
                e.GetProperty("eventColour").GetString()!);
        }
    }

    private const string DrawnScript = """
        () => {
          const c = window.amCharts, p = c && c.plots;
          if (!p || !p.events || !p.outcomes || !p.workers || !p.runtimes) return null;
          const sums = (u, scale) => Object.fromEntries(u.series.slice(1).map((s, i) => [s.label, u.data[i + 1].reduce((a, v) => a + (v || 0), 0) * scale]));
          const w = p.workers.u.data[1];
          return {
            step: c.step,
            events: sums(p.events.u, c.step),
            outcomes: sums(p.outcomes.u, 1),
            workersOnline: w.length ? w[w.length - 1] : null,
            runtimeNames: p.runtimes.categories,
            runtimes: p.runtimes.u.data.slice(1),
            eventColour: p.events.u.series[p.events.u.series.length - 1].stroke(), // drawn last: on top of the others
          };
        }
        """;

    private const string PixelsScript = """
        ([chart, colour]) => {
          const ctx = window.amCharts.plots[chart].u.ctx;
          const d = ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data;
          const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
          let n = 0;
          for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] > 200 && Math.abs(d[i] - r) < 24 && Math.abs(d[i + 1] - g) < 24 && Math.abs(d[i + 2] - b) < 24) n++;
          return n;
        }
        """;

    private static async Task<Dictionary<string, double>> TaskEventsByTypeAsync(string url)
    {
        var text = await new HttpClient().GetStringAsync(url + "/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith("flower_events_total{"))
            .Select(l => (Type: l[(l.IndexOf("type=\"") + 6)..].Split('"')[0], N: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .GroupBy(x => x.Type)
            .ToDictionary(g => g.Key, g => g.Sum(x => x.N));
    }

    private static Dictionary<string, double> WorkerEventsByType(string capture)
    {
        var counts = new Dictionary<string, double>();
        foreach (var line in File.ReadLines(capture).Where(l => l.Trim().Length > 0))
        {
            using var message = JsonDocument.Parse(line);
            using var body = JsonDocument.Parse(message.RootElement.GetProperty("body").GetString()!);
            var events = body.RootElement.ValueKind == JsonValueKind.Array ? body.RootElement.EnumerateArray().ToList() : [body.RootElement];
            foreach (var type in events.Select(e => e.GetProperty("type").GetString()!).Where(t => t.StartsWith("worker-")))
                counts[type] = counts.GetValueOrDefault(type) + 1;
        }
        return counts;
    }

    private async Task Screenshot(IPage page, string name)
    {
        var dir = Directory.CreateDirectory(Repo.Path("tests", "ActorMonitor.Dashboard.Tests", "bin", "screenshots")).FullName;
        var shot = Path.Combine(dir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 1000, "the screenshot is empty");
        output.WriteLine($"screenshot: {shot}");
    }

    /// <summary>Retries <paramref name="check"/> until it passes (the charts follow the stream) or 30 s have passed.</summary>
    private static async Task Eventually(Func<Task> check)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await check();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }
}
