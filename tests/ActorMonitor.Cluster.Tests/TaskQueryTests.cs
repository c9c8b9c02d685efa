using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Store;
using ActorMonitor.Store.Queries;
using ActorMonitor.Store.Sql;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Xunit.Abstractions;

namespace ActorMonitor.Cluster.Tests;

/// <summary>
/// The query side against Celery's state: a corpus replayed through a node on a SQLite file and on
/// the memory store, then filtered, sorted and paged pages, their totals and the counts equal what
/// the expected state (Celery's own State) gives for the same query, Flower's semantics included.
/// </summary>
public class TaskQueryTests(ITestOutputHelper output)
{
    internal sealed class Replayed(ActorSystem system, MonitorNode node, string? file) : IAsyncDisposable
    {
        public MonitorNode Node { get; } = node;

        public async ValueTask DisposeAsync()
        {
            await system.Terminate();
            Node.Store.Dispose();
            if (file is not null)
                foreach (var f in new[] { file, file + "-wal", file + "-shm" }) File.Delete(f);
        }
    }

    private static Task<Replayed> ReplayAsync(string corpus, bool sqlite)
    {
        var file = sqlite ? Path.Combine(Path.GetTempPath(), $"am-query-{Guid.NewGuid():N}.db") : null;
        return ReplayAsync(corpus, file is null ? "memory" : $"\"sqlite:{file}\"", file);
    }

    internal static async Task<Replayed> ReplayAsync(string corpus, string journal, string? file)
    {
        var system = await MonitorSystem.StartAsync(MonitorConfig.With($"actormonitor.receiver.utcoffset = 0\nactormonitor.journal = {journal}"));
        var node = await MonitorNode.StartAsync(system);
        using (var reader = File.OpenRead(Corpus.Capture(corpus)))
            await CaptureFeeder.FeedAsync(node, reader);
        await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
        await node.Queries.CheckpointAsync(TimeSpan.FromSeconds(30));
        return new Replayed(system, node, file);
    }

    private static readonly string[] TimeFields = ["received", "started", "succeeded", "failed", "timestamp"];

    private static TaskSortField SortOf(string? field) => field switch
    {
        null => TaskSortField.Recent,
        "name" => TaskSortField.Name,
        "state" => TaskSortField.State,
        "received" => TaskSortField.Received,
        "started" => TaskSortField.Started,
        "succeeded" => TaskSortField.Succeeded,
        "failed" => TaskSortField.Failed,
        _ => TaskSortField.Timestamp,
    };

    /// <summary>Every page of the query, walked with its offset, equals the reference list; so does every total.</summary>
    private static async Task AssertListsAsync(MonitorNode node, TaskQuery query, IReadOnlyList<ExpectedTask> expected, int pageSize = 37)
    {
        var got = new List<string>();
        for (var offset = 0; ; offset += pageSize)
        {
            var page = await node.Queries.TasksAsync(query with { Limit = pageSize, Offset = offset });
            Assert.Equal(expected.Count, page.Total);
            Assert.Equal(pageSize, page.Limit);
            Assert.Equal(offset, page.Offset);
            got.AddRange(page.Tasks.Select(t => t.Uuid));
            if (page.Tasks.Count < pageSize) break;
        }
        Assert.Equal(expected.Select(t => t.Uuid), got);
    }

    [Theory]
    [InlineData("real-mixed-1", true)]
    [InlineData("real-mixed-1", false)]
    [InlineData("synth-2k-shuffled", true)]
    [InlineData("synth-2k-shuffled", false)]
    [InlineData("synth-2k", true)]
    public async Task Filters_sorts_pages_and_totals_equal_celery_state(string corpus, bool sqlite)
    {
        await using var replayed = await ReplayAsync(corpus, sqlite);
        await CheckListsAsync(replayed.Node, new QueryReference(corpus), output);
        if (sqlite) AssertTextIndexIntact(((SqlStateStore)replayed.Node.Store).Target.Location);
    }

    /// <summary>
    /// Rows are written again as their tasks go on: the corpus is fed in four parts with a
    /// checkpoint after each, so most tasks are stored before their result or exception exists
    /// and their texts change in later upserts. Searches through the trigram index still equal
    /// Celery's state, and the index still equals the rows.
    /// </summary>
    [Fact]
    public async Task Text_search_follows_texts_written_after_a_task_was_first_stored()
    {
        const string corpus = "synth-2k";
        var file = Path.Combine(Path.GetTempPath(), $"am-query-{Guid.NewGuid():N}.db");
        var system = await MonitorSystem.StartAsync(MonitorConfig.With($"actormonitor.receiver.utcoffset = 0\nactormonitor.journal = \"sqlite:{file}\""));
        await using var replayed = new Replayed(system, await MonitorNode.StartAsync(system), file);
        var lines = File.ReadAllLines(Corpus.Capture(corpus));
        foreach (var part in lines.Chunk(lines.Length / 4 + 1))
        {
            using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', part) + "\n"));
            await CaptureFeeder.FeedAsync(replayed.Node, stream);
            await replayed.Node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            await replayed.Node.Queries.CheckpointAsync(TimeSpan.FromSeconds(30));
        }
        var all = new QueryReference(corpus).Tasks;
        foreach (var text in new[] { "Error('", "bad input 1", "try again", "(12", "no such text" })
        {
            var expected = QueryReference.Order(all.Where(t => new[] { "args", "kwargs", "result", "exception" }.Any(f => t.Text(f)?.Contains(text) == true)), "received", true);
            var page = await replayed.Node.Queries.TasksAsync(new TaskQuery { Search = text, Limit = 1000 });
            Assert.Equal(expected.Count, page.Total);
            Assert.Equal(expected.Select(t => t.Uuid), page.Tasks.Select(t => t.Uuid));
        }
        Assert.Contains(all, t => t.Text("exception")?.Contains("Error('") == true);
        AssertTextIndexIntact(file);
    }

    /// <summary>
    /// A search matching more tasks than SQLite sorts (so it walks the sort's index against the
    /// trigram index's matches) and one matching fewer: pages, offsets and totals on SQLite equal
    /// the memory store's (whose LINQ filter the corpus specs hold to Celery's state), every sort.
    /// </summary>
    [Fact]
    public async Task Search_matching_many_tasks_equals_the_memory_store()
    {
        const int tasks = 24_000;
        var capture = new System.Text.StringBuilder();
        for (var i = 0; i < tasks; i++)
        {
            var t = 1795400000.0 + i * 0.01;
            var uuid = new Guid(i, 0, 0, new byte[8]).ToString();
            // The failures (all but every tenth) form the dense match; "input 12" picks a few hundred.
            var events = i % 10 == 0
                ? $"{{\"hostname\": \"celery@w{i % 3}\", \"utcoffset\": 0, \"pid\": 7, \"clock\": {2 * i + 2}, \"uuid\": \"{uuid}\", \"result\": \"{i}\", \"runtime\": 0.5, \"timestamp\": {t + 0.005:R}, \"type\": \"task-succeeded\"}}"
                : $"{{\"hostname\": \"celery@w{i % 3}\", \"utcoffset\": 0, \"pid\": 7, \"clock\": {2 * i + 2}, \"uuid\": \"{uuid}\", \"exception\": \"ValueError('bad input {i}')\", \"traceback\": \"\", \"timestamp\": {t + 0.005:R}, \"type\": \"task-failed\"}}";
            var received = $"{{\"hostname\": \"celery@w{i % 3}\", \"utcoffset\": 0, \"pid\": 7, \"clock\": {2 * i + 1}, \"uuid\": \"{uuid}\", \"name\": \"app.t{i % 4}\", \"args\": \"({i}, 1)\", \"kwargs\": \"{{}}\", \"retries\": 0, \"timestamp\": {t:R}, \"type\": \"task-received\"}}";
            capture.Append(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["routing_key"] = "task.multi", ["headers"] = new Dictionary<string, string> { ["hostname"] = $"celery@w{i % 3}" },
                ["properties"] = new Dictionary<string, object> { ["content_type"] = "application/json", ["content_encoding"] = "utf-8", ["delivery_mode"] = 1 },
                ["body"] = $"[{received}, {events}]", ["local_received"] = t + 0.006,
            })).Append('\n');
        }
        async Task<Replayed> Feed(string journal, string? file)
        {
            var system = await MonitorSystem.StartAsync(MonitorConfig.With($"actormonitor.receiver.utcoffset = 0\nactormonitor.journal = {journal}"));
            var replayed = new Replayed(system, await MonitorNode.StartAsync(system), file);
            using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(capture.ToString()));
            await CaptureFeeder.FeedAsync(replayed.Node, stream);
            await replayed.Node.Queries.DrainAsync(TimeSpan.FromSeconds(60));
            await replayed.Node.Queries.CheckpointAsync(TimeSpan.FromSeconds(60));
            return replayed;
        }
        var file = Path.Combine(Path.GetTempPath(), $"am-query-{Guid.NewGuid():N}.db");
        await using var sqlite = await Feed($"\"sqlite:{file}\"", file);
        await using var memory = await Feed("memory", null);
        foreach (var search in new[] { "bad input", "input 12", "Error('bad input 2" })
            foreach (var sort in new[] { TaskSortField.Received, TaskSortField.Started, TaskSortField.Failed, TaskSortField.Name, TaskSortField.Recent })
                foreach (var (descending, offset) in new[] { (true, 0), (false, 0), (true, 1000) })
                {
                    var q = new TaskQuery { Search = search, Sort = sort, Descending = descending, Offset = offset, Limit = 100 };
                    var expected = await memory.Node.Queries.TasksAsync(q);
                    var got = await sqlite.Node.Queries.TasksAsync(q);
                    Assert.Equal(expected.Total, got.Total);
                    Assert.Equal(expected.Tasks.Select(t => t.Uuid), got.Tasks.Select(t => t.Uuid));
                }
        Assert.True((await memory.Node.Queries.TasksAsync(new TaskQuery { Search = "bad input" })).Total > 20_000); // the walking path
        Assert.InRange((await memory.Node.Queries.TasksAsync(new TaskQuery { Search = "input 12" })).Total, 100, 20_000); // the sorting path
        AssertTextIndexIntact(file);
    }

    /// <summary>
    /// FTS5's own check that the trigram index holds exactly the texts of the rows (rank 1 compares
    /// it with the content table): the triggers kept it right through every upsert of the replay.
    /// </summary>
    internal static void AssertTextIndexIntact(string file)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO am_task_texts (am_task_texts, rank) VALUES ('integrity-check', 1)";
        cmd.ExecuteNonQuery(); // throws SQLITE_CORRUPT_VTAB when the index and the rows differ
        cmd.CommandText = "SELECT COUNT(*) FROM am_tasks";
        Assert.True(Convert.ToInt64(cmd.ExecuteScalar()) > 0);
    }

    internal static async Task CheckListsAsync(MonitorNode node, QueryReference reference, ITestOutputHelper output)
    {
        var all = reference.Tasks;

        // Every sort field, both directions, over every task: Celery's heap order breaks ties.
        foreach (var field in (string?[])[.. TimeFields, "name", null])
            foreach (var descending in new[] { true, false })
            {
                output.WriteLine($"sort {field ?? "recent"} {(descending ? "desc" : "asc")}");
                await AssertListsAsync(node, new TaskQuery { Sort = SortOf(field), Descending = descending },
                    QueryReference.Order(all, field, descending), pageSize: 211);
            }

        // By state (each state the corpus has), sorted by started.
        foreach (var state in all.Select(t => t.Str("state")!).Distinct())
            await AssertListsAsync(node, new TaskQuery { State = state, Sort = TaskSortField.Started },
                QueryReference.Order(all.Where(t => t.Str("state") == state), "started", true));

        // By name and a received range (inclusive), oldest first.
        var name = all.GroupBy(t => t.Str("name")).OrderByDescending(g => g.Count()).First().Key!;
        var received = all.Select(t => t.Num("received")).OfType<double>().Order().ToList();
        double since = received[received.Count / 4], until = received[received.Count * 3 / 4];
        await AssertListsAsync(node, new TaskQuery { Name = name, Since = since, Until = until, Descending = false },
            QueryReference.Order(all.Where(t => t.Str("name") == name && t.Num("received") >= since && t.Num("received") <= until), "received", false));

        // By worker, sorted by started; a range on another time field.
        var worker = all.Select(t => t.Str("worker")).OfType<string>().Distinct().Order(StringComparer.Ordinal).First();
        await AssertListsAsync(node, new TaskQuery { Worker = worker, Sort = TaskSortField.Started },
            QueryReference.Order(all.Where(t => t.Str("worker") == worker), "started", true));
        var succeeded = all.Select(t => t.Num("succeeded")).OfType<double>().Order().ToList();
        var mid = succeeded[succeeded.Count / 2];
        await AssertListsAsync(node, new TaskQuery { TimeField = TaskTimeField.Succeeded, Since = mid, Sort = TaskSortField.Succeeded },
            QueryReference.Order(all.Where(t => t.Num("succeeded") >= mid), "succeeded", true));

        // Text search in args, kwargs, result or exception (exact substring).
        // Three code points or more go through SQLite's trigram index: case-sensitive, quotes and
        // FTS5 syntax taken as text, a text whose trigrams all occur but not together matches nothing.
        foreach (var text in new[] { "(3, ", "Error(", "error(", "Error('", "6", "{}", "no such text", "\"x\" AND y*", ", 3", "rorEr" })
            await AssertListsAsync(node, new TaskQuery { Search = text, Sort = TaskSortField.Timestamp },
                QueryReference.Order(all.Where(t => new[] { "args", "kwargs", "result", "exception" }.Any(f => t.Text(f)?.Contains(text) == true)), "timestamp", true));

        // Everything together, and a page past the end.
        var failed = all.Where(t => t.Str("state") == "FAILURE").ToList();
        if (failed.Count > 0)
        {
            var f = failed[0];
            await AssertListsAsync(node, new TaskQuery { State = "FAILURE", Name = f.Str("name"), Worker = f.Str("worker"), Search = "Error", Sort = TaskSortField.Name },
                QueryReference.Order(all.Where(t => t.Str("state") == "FAILURE" && t.Str("name") == f.Str("name") && t.Str("worker") == f.Str("worker")
                    && new[] { "args", "kwargs", "result", "exception" }.Any(x => t.Text(x)?.Contains("Error") == true)), "name", true));
        }
        var beyond = await node.Queries.TasksAsync(new TaskQuery { Offset = all.Count, Limit = 10 });
        Assert.Equal(all.Count, beyond.Total);
        Assert.Empty(beyond.Tasks);

        // The page carries the tasks in the oracle's schema, read from their rows.
        var first = (await node.Queries.TasksAsync(new TaskQuery { Limit = 5 })).Tasks;
        foreach (var t in first)
        {
            var e = reference[t.Uuid];
            Assert.Equal(e.Str("worker"), t.Worker);
            foreach (var (field, raw) in t.Fields)
                Assert.True(StateComparison.Same(e.Json.GetProperty(field), System.Text.Json.JsonDocument.Parse(raw ?? "null").RootElement), $"{t.Uuid}.{field}");
        }
    }

    [Theory]
    [InlineData("real-mixed-1", true)]
    [InlineData("synth-2k-shuffled", true)]
    [InlineData("synth-2k-shuffled", false)]
    public async Task Counts_by_state_name_and_worker_equal_celery_state(string corpus, bool sqlite)
    {
        await using var replayed = await ReplayAsync(corpus, sqlite);
        await CheckCountsAsync(replayed.Node, new QueryReference(corpus));
    }

    internal static async Task CheckCountsAsync(MonitorNode node, QueryReference reference)
    {
        var all = reference.Tasks;

        void AssertCounts(TaskCounts counts, IReadOnlyList<ExpectedTask> tasks)
        {
            Assert.Equal(tasks.Count, counts.Total);
            foreach (var (key, got) in new[] { ("state", counts.ByState), ("name", counts.ByName), ("worker", counts.ByWorker) })
                Assert.Equal(tasks.Where(t => t.Str(key) is not null).GroupBy(t => t.Str(key)!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, (long)g.Count())),
                    got.Select(kv => (kv.Key, kv.Value)));
        }

        AssertCounts(await node.Queries.CountsAsync(), all);
        var worker = all.Select(t => t.Str("worker")).OfType<string>().Order(StringComparer.Ordinal).Last();
        AssertCounts(await node.Queries.CountsAsync(new TaskQuery { Worker = worker }), all.Where(t => t.Str("worker") == worker).ToList());
        AssertCounts(await node.Queries.CountsAsync(new TaskQuery { Search = "Error" }),
            all.Where(t => new[] { "args", "kwargs", "result", "exception" }.Any(f => t.Text(f)?.Contains("Error") == true)).ToList());
    }

    /// <summary>Flower's ListTasks parameters give the tasks Flower's iter_tasks gives, in its order.</summary>
    [Theory]
    [InlineData("real-mixed-1", true)]
    [InlineData("synth-2k-shuffled", true)]
    [InlineData("synth-2k-shuffled", false)]
    [InlineData("synth-2k-skew", true)]
    public async Task Flower_semantics_equal_flower_over_celery_state(string corpus, bool sqlite)
    {
        await using var replayed = await ReplayAsync(corpus, sqlite);
        await CheckFlowerAsync(replayed.Node, new QueryReference(corpus));
    }

    internal static async Task CheckFlowerAsync(MonitorNode node, QueryReference reference)
    {
        var all = reference.Tasks;
        var worker = all.Select(t => t.Str("worker")).OfType<string>().Distinct().Order(StringComparer.Ordinal).First();
        var name = all.Select(t => t.Str("name")).OfType<string>().Distinct().Order(StringComparer.Ordinal).Last();
        var received = all.Select(t => t.Num("received")).OfType<double>().Order().ToList();
        var someArgs = all.Select(t => t.Text("args")).OfType<string>().First();

        async Task Check(TaskQuery q, List<ExpectedTask> expected)
        {
            var got = await node.Queries.TasksAsync(q with { Lenient = true, Limit = TaskQuery.MaxLimit });
            Assert.Equal(expected.Count, got.Total);
            Assert.Equal(expected.Take(TaskQuery.MaxLimit).Select(t => t.Uuid), got.Tasks.Select(t => t.Uuid));
        }

        FlowerSearch? Terms(string s) => FlowerSearch.Parse(s) is { IsEmpty: false } t ? t : null;

        await Check(new TaskQuery { Sort = TaskSortField.Recent }, reference.Flower());
        foreach (var sortBy in new[] { "name", "-name", "state", "-state", "received", "-received", "started", "-started" })
            await Check(new TaskQuery { Sort = SortOf(sortBy.TrimStart('-')), Descending = sortBy.StartsWith('-') }, reference.Flower(sortBy: sortBy));
        await Check(new TaskQuery { Sort = TaskSortField.Recent, Worker = worker, Name = name }, reference.Flower(workername: worker, taskname: name));
        await Check(new TaskQuery { Sort = TaskSortField.Started, Descending = true, State = "SUCCESS", Since = received[received.Count / 3], Until = received[received.Count / 2] },
            reference.Flower(sortBy: "-started", state: "SUCCESS", receivedStart: received[received.Count / 3], receivedEnd: received[received.Count / 2]));
        foreach (var search in new[] { "add", "state:FAILURE", "state:FAILURE state:REVOKED", "result:6", $"args:{someArgs.Trim('(', ')').Split(',')[0]}",
                     "kwargs:x=1", "\"Error\"", "None", "statement", "args:\"(3,\" result:0", worker })
            await Check(new TaskQuery { Sort = TaskSortField.Recent, FlowerTerms = Terms(search) }, reference.Flower(search: search));

        // Pages of Flower's order.
        var page = await node.Queries.TasksAsync(new TaskQuery { Lenient = true, Sort = TaskSortField.Recent, Limit = 7, Offset = 5 });
        Assert.Equal(reference.Flower(limit: 7, offset: 5).Select(t => t.Uuid), page.Tasks.Select(t => t.Uuid));
    }

    /// <summary>Passivated tasks are queried from their rows like live ones; a restarted node answers the same from its file.</summary>
    [Fact]
    public async Task Queries_cover_passivated_tasks_and_survive_a_restart()
    {
        const string corpus = "synth-2k";
        var reference = new QueryReference(corpus);
        var file = Path.Combine(Path.GetTempPath(), $"am-query-restart-{Guid.NewGuid():N}.db");
        try
        {
            var hocon = $"actormonitor.receiver.utcoffset = 0\nactormonitor.journal = \"sqlite:{file}\"\nactormonitor.state.max-tasks-in-memory = 100";
            var system = await MonitorSystem.StartAsync(MonitorConfig.With(hocon));
            var node = await MonitorNode.StartAsync(system);
            using (var reader = File.OpenRead(Corpus.Capture(corpus)))
                await CaptureFeeder.FeedAsync(node, reader);
            await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
            // fresh: the page waits for a checkpoint of what was applied, none was asked for here.
            var fresh = await node.Queries.TasksAsync(new TaskQuery { Limit = 10 }, fresh: true);
            Assert.Equal(reference.Tasks.Count, fresh.Total);
            Assert.True((await node.Queries.KeeperStatsAsync()).Passivations > 0);
            await system.Terminate();

            system = await MonitorSystem.StartAsync(MonitorConfig.With(hocon));
            try
            {
                node = await MonitorNode.StartAsync(system);
                await AssertListsAsync(node, new TaskQuery { Sort = TaskSortField.Name, Descending = false },
                    QueryReference.Order(reference.Tasks, "name", false), pageSize: 500);
                Assert.Equal(reference.Tasks.Count, (await node.Queries.CountsAsync()).Total);
            }
            finally
            {
                await system.Terminate();
            }
        }
        finally
        {
            SqliteCleanup(file);
        }
    }

    /// <summary>A database written before the query columns existed gets them, filled from the rows' data.</summary>
    [Fact]
    public async Task A_database_without_the_query_columns_is_migrated_and_backfilled()
    {
        var file = Path.Combine(Path.GetTempPath(), $"am-query-migrate-{Guid.NewGuid():N}.db");
        try
        {
            var memory = new MemoryStateStore();
            var system = await MonitorSystem.StartAsync(MonitorConfig.With("actormonitor.receiver.utcoffset = 0\nactormonitor.journal = memory"));
            try
            {
                var node = await MonitorNode.StartAsync(system, store: memory);
                using (var reader = File.OpenRead(Corpus.Capture("real-mixed-1")))
                    await CaptureFeeder.FeedAsync(node, reader);
                await node.Queries.DrainAsync(TimeSpan.FromSeconds(30));
                await node.Queries.CheckpointAsync(TimeSpan.FromSeconds(30));
            }
            finally
            {
                await system.Terminate();
            }
            // The table as it was before the query side, holding those rows.
            using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file}"))
            {
                c.Open();
                using var cmd = c.CreateCommand();
                cmd.CommandText = """
                    CREATE TABLE am_tasks (uuid TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, event_count INTEGER NOT NULL, received_count INTEGER NOT NULL,
                      name TEXT, state TEXT, worker TEXT, received REAL, started REAL, succeeded REAL, failed REAL, timestamp REAL, data BLOB NOT NULL);
                    """;
                cmd.ExecuteNonQuery();
                foreach (var (uuid, data) in memory.AllTasks())
                {
                    var row = StoredRows.TaskRow(Celery.Durable.TaskRecord.FromRow(uuid, data));
                    using var insert = c.CreateCommand();
                    insert.CommandText = "INSERT INTO am_tasks VALUES (@u, @l, @e, @r, @n, @s, @w, @rc, @st, @su, @f, @t, @d)";
                    object?[] values = [row.Uuid, row.LastSeq, row.EventCount, row.ReceivedCount, row.Name, row.State, row.Worker, row.Received, row.Started, row.Succeeded, row.Failed, row.Timestamp, row.Data];
                    string[] names = ["@u", "@l", "@e", "@r", "@n", "@s", "@w", "@rc", "@st", "@su", "@f", "@t", "@d"];
                    for (var i = 0; i < names.Length; i++) insert.Parameters.AddWithValue(names[i], values[i] ?? DBNull.Value);
                    insert.ExecuteNonQuery();
                }
            }
            using var store = new SqlStateStore(StoreTarget.Parse("sqlite:" + file));
            store.Initialize();
            var reference = new QueryReference("real-mixed-1");
            foreach (var field in new[] { "timestamp", null })
                Assert.Equal(QueryReference.Order(reference.Tasks, field, true).Select(t => t.Uuid),
                    store.QueryTasks(new TaskQuery { Sort = SortOf(field), Limit = 1000 }).Tasks.Select(t => t.Uuid));
            Assert.Equal(reference.Tasks.Count(t => t.Text("exception")?.Contains("flaky") == true), store.QueryTasks(new TaskQuery { Search = "flaky" }).Total);
            // The counts of the tasks already stored are built once, from their rows.
            var counts = store.CountTasks(TaskQuery.All);
            Assert.Equal(reference.Tasks.Count, counts.Total);
            Assert.Equal(reference.Tasks.GroupBy(t => t.Str("state")!).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, (long)g.Count())),
                counts.ByState.Select(kv => (kv.Key, kv.Value)));
            store.Initialize(); // a second start does not count them again
            Assert.Equal(reference.Tasks.Count, store.CountTasks(TaskQuery.All).Total);
            // The trigram index is built once from the rows (the search above went through it).
            AssertTextIndexIntact(file);
        }
        finally
        {
            SqliteCleanup(file);
        }
    }

    private static void SqliteCleanup(string file)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in new[] { file, file + "-wal", file + "-shm" }) File.Delete(f);
    }
}
