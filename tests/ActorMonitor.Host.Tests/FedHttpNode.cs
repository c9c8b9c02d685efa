using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;
using ActorMonitor.Tests.Shared;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// An in-process node on a SQLite file of its own (no broker), fed a capture and drained, with
/// its HTTP endpoint on a free loopback port; disposing it deletes the file.
/// </summary>
internal sealed class FedHttpNode : IAsyncDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"am-http-{Guid.NewGuid():N}.db");
    private ActorSystem _system = null!;
    private WebApplication _app = null!;

    public string Url { get; private set; } = null!;

    /// <param name="config">HOCON lines besides the journal.</param>
    /// <param name="drainSeconds">How long the feed may take to be applied.</param>
    public static async Task<FedHttpNode> StartAsync(Stream capture, string config = "", bool checkpoint = false, int drainSeconds = 60)
    {
        var fed = new FedHttpNode();
        fed._system = await MonitorSystem.StartAsync(MonitorConfig.With($"{config}\nactormonitor.journal = \"sqlite:{fed._file}\""));
        var node = await MonitorNode.StartAsync(fed._system);
        await CaptureFeeder.FeedAsync(node, capture);
        await node.Queries.DrainAsync(TimeSpan.FromSeconds(drainSeconds));
        if (checkpoint) await node.Queries.CheckpointAsync(TimeSpan.FromSeconds(60));
        var port = Repo.FreePort();
        fed.Url = $"http://127.0.0.1:{port}";
        fed._app = await HttpEndpoint.StartAsync(node, null, $"127.0.0.1:{port}", CancellationToken.None);
        return fed;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _system.Terminate();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in new[] { _file, _file + "-wal", _file + "-shm" }) File.Delete(f);
    }
}
