using ActorMonitor.Store.Queries;
using ActorMonitor.Tests.Shared;
using Akka.Actor;

namespace ActorMonitor.Client.Tests;

/// <summary>
/// Task pages, counts, workers and stats asked with the public messages, from a cluster member
/// (role client) and from a system outside the cluster (ClusterClient): the answers are the
/// node's own and Celery's (the corpus's expected state).
/// </summary>
public class QueryClientTests(MonitorAndClient cluster) : IClassFixture<MonitorAndClient>
{
    private readonly QueryReference _reference = new(MonitorAndClient.CorpusName);

    public static TheoryData<string> Ways => ["member", "cluster-client"];

    private MonitorClient Way(string way) => way == "member" ? cluster.Client : cluster.OutsideClient;

    [Theory]
    [MemberData(nameof(Ways))]
    public async Task Counts_equal_celerys_state(string way)
    {
        var all = _reference.Tasks;
        var counts = await Way(way).CountsAsync();
        Assert.Equal(all.Count, counts.Total);
        foreach (var (key, got) in new[] { ("state", counts.ByState), ("name", counts.ByName), ("worker", counts.ByWorker) })
            Assert.Equal(
                all.Where(t => t.Str(key) is not null).GroupBy(t => t.Str(key)!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, (long)g.Count())),
                got.Select(kv => (kv.Key, kv.Value)));

        var failed = await Way(way).CountsAsync(new GetCounts { State = "FAILURE", Fresh = true });
        Assert.Equal(all.Count(t => t.Str("state") == "FAILURE"), failed.Total);
        Assert.Equal(["FAILURE"], failed.ByState.Keys);
    }

    [Theory]
    [MemberData(nameof(Ways))]
    public async Task Task_pages_are_the_nodes_own_in_celerys_order(string way)
    {
        var received = _reference.Tasks.Select(t => t.Num("received")).OfType<double>().Order().ToList();
        var queries = new[]
        {
            new GetTasks { Limit = 7 },
            new GetTasks { Limit = 7, Offset = 7, Sort = "name", Descending = false },
            new GetTasks { State = "SUCCESS", Since = received[received.Count / 4], Until = received[received.Count / 2], Sort = "started", Limit = 1000 },
        };
        foreach (var q in queries)
        {
            var page = await Way(way).TasksAsync(q);
            var own = await cluster.Node.Queries.TasksAsync(new TaskQuery
            {
                State = q.State, Since = q.Since, Until = q.Until, Limit = q.Limit, Offset = q.Offset, Descending = q.Descending,
                Sort = Enum.Parse<TaskSortField>(q.Sort, ignoreCase: true),
            });
            Assert.Equal(own.Total, page.Total);
            Assert.Equal((q.Limit, q.Offset), (page.Limit, page.Offset));
            Assert.Equal(own.Tasks.Select(t => t.Uuid), page.Tasks.Select(t => t.Uuid));
            Assert.Equal(own.Tasks.Select(t => t.Fields), page.Tasks.Select(t => t.Fields));
        }

        // The whole history, newest received first, as Celery's state orders it.
        var first = await Way(way).TasksAsync(new GetTasks { Limit = 10 });
        Assert.Equal(_reference.Tasks.Count, first.Total);
        Assert.Equal(QueryReference.Order(_reference.Tasks, "received", descending: true).Take(10).Select(t => t.Uuid), first.Tasks.Select(t => t.Uuid));
    }

    [Theory]
    [MemberData(nameof(Ways))]
    public async Task Workers_are_celerys(string way)
    {
        var expected = cluster.Expected.RootElement;
        var asOf = expected.GetProperty("as_of").GetDouble();
        var workers = await Way(way).WorkersAsync(asOf);
        Assert.Equal(expected.GetProperty("workers").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal), workers.Select(w => w.Hostname));
        foreach (var w in workers)
            Assert.Equal(expected.GetProperty("workers").GetProperty(w.Hostname).GetProperty("alive").GetBoolean(), w.Alive);
    }

    [Theory]
    [MemberData(nameof(Ways))]
    public async Task Stats_are_the_answering_nodes_counters(string way)
    {
        var stats = await Way(way).StatsAsync();
        var own = await cluster.Node.Queries.ReceiverStatsAsync();
        Assert.Equal(cluster.MonitorAddress.ToString(), stats.Node);
        Assert.Equal(cluster.Expected.RootElement.GetProperty("messages").GetInt64(), stats.Messages);
        Assert.Equal((own.Messages, own.AcceptedEvents, own.RejectedEvents, own.Clock), (stats.Messages, stats.AcceptedEvents, stats.RejectedEvents, stats.Clock));
        Assert.Equal("memory", stats.Store.Journal);
        Assert.False(stats.Store.Failing);
        Assert.True(stats.Store.Commits > 0);
    }

    [Theory]
    [MemberData(nameof(Ways))]
    public async Task Queries_outside_the_limits_are_refused_as_the_http_api_refuses_them(string way)
    {
        async Task<MonitorQueryException> Refused(Func<Task> ask) => await Assert.ThrowsAsync<MonitorQueryException>(ask);

        var e = await Refused(() => Way(way).TasksAsync(new GetTasks { Limit = 1001 }));
        Assert.True(e.Invalid);
        Assert.Equal("limit must be in 1..1000", e.Message);
        e = await Refused(() => Way(way).TasksAsync(new GetTasks { Sort = "colour" }));
        Assert.Equal("unknown sort field 'colour': one of received, started, succeeded, failed, timestamp, name", e.Message);
        e = await Refused(() => Way(way).CountsAsync(new GetCounts { State = "NOT-A-STATE" }));
        Assert.StartsWith("unknown state 'NOT-A-STATE'", e.Message);
        e = await Refused(() => Way(way).CountsAsync(new GetCounts { TimeField = "eaten" }));
        Assert.Equal("time_field must be one of received, started, succeeded, failed, timestamp", e.Message);
    }

    [Fact]
    public async Task Tasks_and_workers_are_asked_one_by_one_through_the_cluster_client()
    {
        var expected = cluster.Expected.RootElement;
        var uuid = expected.GetProperty("tasks").EnumerateObject().First().Name;
        var task = await cluster.OutsideClient.TaskAsync(uuid);
        Assert.Equal($"\"{_reference[uuid].Str("state")}\"", task?.Field("state"));
        Assert.Null(await cluster.OutsideClient.TaskAsync(Guid.NewGuid().ToString()));

        var hostname = expected.GetProperty("workers").EnumerateObject().First().Name;
        var worker = await cluster.OutsideClient.Workers.Ask<WorkerReply>(new GetWorker(hostname, 0), TimeSpan.FromSeconds(10));
        Assert.Equal(hostname, worker.Worker?.Hostname);

        // The query endpoint forwards them too, for whoever asks it directly.
        var viaEndpoint = await cluster.OutsideClient.Queries.Ask<TaskReply>(new GetTask(uuid), TimeSpan.FromSeconds(10));
        Assert.Equal(task, viaEndpoint.Task, new SnapshotComparer());
    }

    private sealed class SnapshotComparer : IEqualityComparer<Celery.State.TaskSnapshot?>
    {
        public bool Equals(Celery.State.TaskSnapshot? a, Celery.State.TaskSnapshot? b) =>
            a?.Uuid == b?.Uuid && (a?.Fields ?? []).SequenceEqual(b?.Fields ?? []) && (a?.Children ?? []).SequenceEqual(b?.Children ?? []);

        public int GetHashCode(Celery.State.TaskSnapshot? t) => t?.Uuid.GetHashCode() ?? 0;
    }
}
