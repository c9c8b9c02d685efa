namespace ActorMonitor.Tests.Shared;

/// <summary>A real PostgreSQL of the tests' own (scripts/postgres), on loopback, on a free port.</summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public int Port { get; } = Repo.FreePort();

    public string ConnectionString { get; private set; } = "";

    /// <summary>The --journal value for a schema of its own (created on demand), so tests do not share state.</summary>
    public async Task<string> NewJournalAsync()
    {
        var name = $"am_{Guid.NewGuid():N}";
        // Unpooled: a pooled connection would not survive a restart of the server by another test.
        await using var c = new Npgsql.NpgsqlConnection(ConnectionString + ";Pooling=false");
        await c.OpenAsync();
        await using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = $"CREATE SCHEMA {name}";
            await cmd.ExecuteNonQueryAsync();
        }
        return $"postgres:{ConnectionString};Search Path={name}";
    }

    public async Task InitializeAsync() => ConnectionString = (await RunScriptAsync("start")).Trim().Split('\n')[^1];

    public async Task DisposeAsync()
    {
        await RunScriptAsync("stop");
        var data = Repo.Path(".run", $"postgres-{Port}");
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }

    public Task StopAsync() => RunScriptAsync("stop");

    public Task StartAsync() => RunScriptAsync("start");

    private Task<string> RunScriptAsync(string verb) => ProjectScript.RunAsync("postgres", verb, Port);
}
