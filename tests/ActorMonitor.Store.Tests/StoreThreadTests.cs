namespace ActorMonitor.Store.Tests;

public class StoreThreadTests
{
    [Fact]
    public async Task Runs_calls_in_order_on_its_own_thread_not_the_pool()
    {
        using var store = new StoreThread("store-test");
        var order = new List<int>();
        var calls = Enumerable.Range(0, 20).Select(i => store.Run(() =>
        {
            lock (order) order.Add(i);
            return (Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread);
        })).ToList();
        var threads = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 20), order);
        Assert.All(threads, t => Assert.Equal(("store-test", false), t));
    }

    [Fact]
    public async Task A_failing_call_fails_its_task_and_the_next_still_runs()
    {
        using var store = new StoreThread("store-test");
        var failed = store.Run<int>(() => throw new IOException("disk full"));
        var next = store.Run(() => 5);
        Assert.Equal("disk full", (await Assert.ThrowsAsync<IOException>(() => failed)).Message);
        Assert.Equal(5, await next);
    }

    [Fact]
    public async Task After_dispose_queued_calls_finish_and_new_ones_are_refused()
    {
        var store = new StoreThread("store-test");
        using var gate = new ManualResetEventSlim();
        var blocked = store.Run(() => gate.Wait(TimeSpan.FromSeconds(10)));
        var queued = store.Run(() => 2);
        store.Dispose();
        var refused = store.Run(() => 3);
        gate.Set();
        Assert.True(await blocked);
        Assert.Equal(2, await queued);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => refused);
    }
}
