using ActorMonitor.Store.Sql;

namespace ActorMonitor.Store.Tests;

/// <summary>
/// A node the cluster downed is fenced in the store: its commits are refused from then on, and a
/// fence waits for a commit of that node still in progress, so none of its rows lands after it.
/// </summary>
public class FencingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-fence-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Stores => ["sqlite", "memory"];

    [Theory]
    [MemberData(nameof(Stores))]
    public void A_fenced_writer_commits_nothing_and_a_new_incarnation_of_the_same_node_does(string kind)
    {
        using var store = Open(kind);
        store.RegisterWriter("node-a#1", "node-a");
        store.Commit(Commit("node-a#1", "w1"));

        store.Fence("node-a#1", "node-a", "node-b#7");
        var refused = Assert.Throws<WriterFencedException>(() => store.Commit(Commit("node-a#1", "w2")));
        Assert.Contains("node-b#7", refused.Message);
        Assert.Equal(["w1"], store.LoadWorkers(["w1", "w2"]).Keys);

        store.RegisterWriter("node-a#2", "node-a"); // the same node restarted: a new incarnation
        store.Commit(Commit("node-a#2", "w2"));
        Assert.Equal(["w1", "w2"], store.LoadWorkers(["w1", "w2"]).Keys.Order());
        store.RegisterWriter("node-a#1", "node-a"); // registering again does not lift a fence
        Assert.Throws<WriterFencedException>(() => store.Commit(Commit("node-a#1", "w3")));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public void A_node_fenced_before_it_ever_registered_stays_fenced(string kind)
    {
        using var store = Open(kind);
        store.Fence("node-c#3", "node-c", "node-b#7");
        store.RegisterWriter("node-c#3", "node-c");
        Assert.Throws<WriterFencedException>(() => store.Commit(Commit("node-c#3", "w1")));
    }

    [Fact]
    public void Commits_without_a_writer_are_not_checked()
    {
        using var store = Open("sqlite");
        store.Commit(Commit(null, "w1"));
        Assert.Single(store.LoadWorkers(["w1"]));
    }

    private IStateStore Open(string kind)
    {
        if (kind == "memory") return new MemoryStateStore();
        var store = new SqlStateStore(StoreTarget.Parse("sqlite:" + Path.Combine(_dir, "state.db")));
        store.Initialize();
        return store;
    }

    internal static StoreCommit Commit(string? writer, string worker) =>
        new([], [new WorkerRow(worker, [1, 2, 3], 1)], []) { Writer = writer };
}
