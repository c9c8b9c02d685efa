using System.Collections.Concurrent;

namespace ActorMonitor.Store;

/// <summary>
/// A thread of its own for the store's blocking calls. A commit or a load holds its thread for
/// up to seconds (SQLite's and Npgsql's calls block); on the shared thread pool, which also runs
/// every actor, that starves the actors and makes the pool add threads, each one more stack and
/// allocation context in the process's memory. Work runs in the order it was given.
/// </summary>
public sealed class StoreThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();

    public StoreThread(string name)
    {
        var thread = new Thread(() =>
        {
            foreach (var work in _work.GetConsumingEnumerable()) work();
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
    }

    /// <summary>Queues <paramref name="call"/>; the task completes (on the thread pool) with its result or its exception.</summary>
    public Task<T> Run<T>(Func<T> call)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _work.Add(() =>
            {
                try { done.SetResult(call()); }
                catch (Exception ex) { done.SetException(ex); }
            });
        }
        catch (InvalidOperationException)
        {
            done.SetException(new ObjectDisposedException(nameof(StoreThread), "the store thread has stopped"));
        }
        return done.Task;
    }

    /// <summary>Work already queued still runs; then the thread ends.</summary>
    public void Dispose() => _work.CompleteAdding();
}
