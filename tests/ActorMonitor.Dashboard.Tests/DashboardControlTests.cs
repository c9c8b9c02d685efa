using System.Net.Http.Json;
using System.Text.Json;
using ActorMonitor.Host.Tests;
using ActorMonitor.Tests.Shared;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ActorMonitor.Dashboard.Tests;

/// <summary>
/// Remote control from the dashboard against a real Celery prefork worker: the worker page shows
/// what an inspect tells (pool, queues, registered tasks), grows the pool and adds a consumer; the
/// task page terminates a running task after a confirmation; the worker page shuts the worker down.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DashboardControlTests(RabbitBroker broker, ITestOutputHelper output) : IClassFixture<RabbitBroker>, IAsyncLifetime
{
    private static readonly string E2eDir = Repo.Path("tests", "e2e");
    private Chromium _chromium = null!;

    public async Task InitializeAsync() => _chromium = await Chromium.LaunchAsync();

    public async Task DisposeAsync() => await _chromium.DisposeAsync();

    [Fact]
    public async Task Worker_and_task_pages_inspect_grow_add_a_consumer_terminate_and_shut_down()
    {
        var hostname = $"dash{Guid.NewGuid():N}"[..12] + "@e2e";
        await using var node = await LiveNode.StartAsync(broker.Url, "--allow-control-without-credentials");
        await using var worker = ChildProcess.Start(hostname, "/usr/bin/python3",
            ["-m", "celery", "-A", "e2e_tasks", "worker", "-E", "-n", hostname, "-P", "prefork", "-c", "2", "--without-mingle", "-l", "warning"],
            E2eDir, new Dictionary<string, string> { ["E2E_BROKER"] = broker.Url, ["PYTHONPATH"] = E2eDir });
        using var http = new HttpClient();
        try
        {
            await node.WaitUntilAsync(async () => (await http.GetStringAsync($"{node.Url}/api/workers?status=1")).Contains($"\"{hostname}\":true"),
                TimeSpan.FromSeconds(60), "the worker online");

            var page = await _chromium.Browser.NewPageAsync();
            page.SetDefaultTimeout(20_000);
            var errors = new List<string>();
            page.PageError += (_, e) => errors.Add(e);
            var questions = new List<string>();
            page.Dialog += async (_, dialog) => { questions.Add(dialog.Message); await dialog.AcceptAsync(); };

            // The worker page asks the worker itself: pool of 2, its queue and its registered tasks.
            await page.GotoAsync($"{node.Url}/#worker/{Uri.EscapeDataString(hostname)}");
            await Assertions.Expect(page.Locator("#worker-status")).ToHaveTextAsync("online");
            await Assertions.Expect(page.Locator("#worker-inspected dd[data-field='pool']")).ToContainTextAsync("2 process(es)", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("#worker-inspected dd[data-field='queues']")).ToHaveTextAsync("e2e.tasks");
            await Assertions.Expect(page.Locator("#worker-inspected dd[data-field='registered']")).ToContainTextAsync("e2e_tasks.add");

            // Grow the pool: the node's answer, then the worker's own count.
            await page.Locator("#pool-grow").ClickAsync();
            await Assertions.Expect(page.Locator("#worker-control-result")).ToHaveTextAsync($"Growing '{hostname}' worker's pool by 1");
            // The pool grows a moment after the worker answers: inspect again (the page's button) until it shows.
            await Eventually(async () =>
            {
                await page.Locator("#worker-inspect").ClickAsync();
                await Assertions.Expect(page.Locator("#worker-inspected dd[data-field='pool']")).ToContainTextAsync("3 process(es)", new() { Timeout = 2000 });
            });

            // A consumer of a new queue: a task sent there runs.
            await page.Locator("#consumer-queue").FillAsync("dashboard-extra");
            await page.Locator("#add-consumer").ClickAsync();
            await Assertions.Expect(page.Locator("#worker-control-result")).ToHaveTextAsync("add consumer dashboard-extra");
            await Assertions.Expect(page.Locator("#worker-inspected dd[data-field='queues']")).ToContainTextAsync("dashboard-extra");
            var added = await SendAsync(http, node.Url, "e2e_tasks.add", """{"args": [20, 22], "queue": "dashboard-extra"}""");
            await node.WaitUntilAsync(async () => await StateAsync(http, node.Url, added) == "SUCCESS", TimeSpan.FromSeconds(30), "the task on the added queue");

            // The task page terminates a running task, once confirmed.
            var slow = await SendAsync(http, node.Url, "e2e_tasks.slow", """{"args": [60]}""", route: "async-apply"); // to a queue of a worker that registered it
            await node.WaitUntilAsync(async () => await StateAsync(http, node.Url, slow) == "STARTED", TimeSpan.FromSeconds(30), "the slow task started");
            await page.GotoAsync($"{node.Url}/#task/{slow}");
            await Assertions.Expect(page.Locator("#detail dd[data-field='state']")).ToHaveTextAsync("STARTED");
            await page.Locator("#task-terminate").ClickAsync();
            await Assertions.Expect(page.Locator("#task-control-result")).ToHaveTextAsync($"Revoked '{slow}'");
            Assert.Contains(questions, q => q.StartsWith($"Terminate task {slow}?"));
            await Assertions.Expect(page.Locator("#detail dd[data-field='state']")).ToHaveTextAsync("REVOKED", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("#timeline li[data-type='task-revoked']")).ToHaveCountAsync(1);

            // Shut the worker down: it says goodbye (worker-offline) and its process exits.
            await page.GotoAsync($"{node.Url}/#worker/{Uri.EscapeDataString(hostname)}");
            await Assertions.Expect(page.Locator("#worker-inspected dd[data-field='pool']")).ToContainTextAsync("process(es)");
            var shot = Path.Combine(Directory.CreateDirectory(Repo.Path("tests", "ActorMonitor.Dashboard.Tests", "bin", "screenshots")).FullName, "dashboard-worker-control.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            output.WriteLine($"screenshot: {shot}");
            await page.Locator("#worker-shutdown").ClickAsync();
            await Assertions.Expect(page.Locator("#worker-control-result")).ToHaveTextAsync("Shutting down!");
            Assert.Contains(questions, q => q.StartsWith($"Shut down worker {hostname}?"));
            await Assertions.Expect(page.Locator("#worker-status")).ToHaveTextAsync("offline", new() { Timeout = 30_000 });
            await node.WaitUntilAsync(() => Task.FromResult(worker.HasExited), TimeSpan.FromSeconds(30), "the worker process to exit");
            Assert.Empty(errors);
        }
        catch
        {
            output.WriteLine($"--- worker\n{LiveNode.Tail(worker.Stderr)}\n--- node\n{LiveNode.Tail(node.Process.Stderr)}");
            throw;
        }
    }

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
            }
        }
    }

    private static async Task<string> SendAsync(HttpClient http, string url, string task, string body, string route = "send-task")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/api/task/{route}/{task}")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
        };
        // A node without credentials takes changes from other clients with its key.
        request.Headers.Add(ActorMonitor.Host.Http.NodeKey.Header, ActorMonitor.Host.Http.NodeKey.TryRead(new Uri(url).Port));
        using var r = await http.SendAsync(request);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        return (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("task-id").GetString()!;
    }

    private static async Task<string?> StateAsync(HttpClient http, string url, string uuid)
    {
        using var r = await http.GetAsync($"{url}/api/task/info/{uuid}");
        return r.IsSuccessStatusCode ? (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString() : null;
    }
}
