using System.Text;
using System.Text.Json;
using ActorMonitor.Celery.Dispatch;

namespace ActorMonitor.Celery.Tests;

public class FleetSimulatorTests
{
    private sealed class Collect : IEventTransport
    {
        public List<(string RoutingKey, string Body)> Published { get; } = [];

        public Task PublishAsync(string routingKey, ReadOnlyMemory<byte> body, CancellationToken ct)
        {
            lock (Published) Published.Add((routingKey, Encoding.UTF8.GetString(body.Span)));
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Workers_go_online_heartbeat_run_task_lifecycles_and_go_offline()
    {
        var transport = new Collect();
        var sim = new FleetSimulator(new SimulationOptions
        {
            Workers = 2, TasksPerSecond = 40, Duration = TimeSpan.FromSeconds(1.2), FailureRate = 0.25,
            Machine = "test", HeartbeatInterval = TimeSpan.FromMilliseconds(300),
        }, _ => transport);
        var summary = await sim.RunAsync(CancellationToken.None);

        var events = transport.Published.SelectMany(p =>
        {
            var root = JsonDocument.Parse(p.Body).RootElement;
            return root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
        }).ToList();
        Assert.Equal(summary.Events, events.Count);
        Assert.True(summary.Tasks >= 20, $"{summary.Tasks} tasks");
        Assert.True(summary.Failed > 0 && summary.Failed < summary.Tasks);

        foreach (var host in new[] { "sim-00@test", "sim-01@test" })
        {
            var mine = events.Where(e => e.GetProperty("hostname").GetString() == host).ToList();
            Assert.Equal("worker-online", mine[0].GetProperty("type").GetString());
            Assert.Equal("worker-offline", mine[^1].GetProperty("type").GetString());
            Assert.Contains(mine, e => e.GetProperty("type").GetString() == "worker-heartbeat" && e.GetProperty("freq").GetDouble() == 0.3);
            var clocks = mine.Select(e => e.GetProperty("clock").GetInt64()).ToList();
            // One dispatcher, one clock: every event its own tick. Task events wait in the "task"
            // buffer group (as on a Celery worker) while a heartbeat goes out at once, so the two
            // groups interleave on the wire; each group is published in clock order.
            Assert.Equal(Enumerable.Range(1, clocks.Count).Select(c => (long)c), clocks.Order());
            foreach (var group in new[] { "task-", "worker-" })
            {
                var inGroup = mine.Where(e => e.GetProperty("type").GetString()!.StartsWith(group)).Select(e => e.GetProperty("clock").GetInt64()).ToList();
                Assert.Equal(inGroup.Order(), inGroup);
            }
        }

        var byTask = events.Where(e => e.GetProperty("type").GetString()!.StartsWith("task-")).GroupBy(e => e.GetProperty("uuid").GetString()).ToList();
        Assert.Equal(summary.Tasks, byTask.Count);
        foreach (var task in byTask)
        {
            var types = task.Select(e => e.GetProperty("type").GetString()).ToList();
            Assert.Equal("task-sent", types[0]);
            Assert.Equal(["task-received", "task-started"], types[1..3]);
            Assert.Contains(types[3], new[] { "task-succeeded", "task-failed" });
        }
        Assert.Contains(transport.Published, p => p.RoutingKey == "task.multi");
    }
}
