namespace ActorMonitor.Tests.Shared;

/// <summary>A real RabbitMQ of the tests' own (scripts/rabbitmq), on loopback, on a free port.</summary>
public sealed class RabbitBroker : IAsyncLifetime
{
    public int Port { get; } = Repo.FreePort(alsoFreeAtOffset: 20000);

    public string Url => $"amqp://guest:guest@127.0.0.1:{Port}//";

    public Task InitializeAsync() => RunScriptAsync("start");

    public async Task DisposeAsync()
    {
        await RunScriptAsync("stop");
        var data = Repo.Path(".run", $"rabbitmq-{Port}");
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true); // a test broker leaves nothing behind
    }

    public Task StopAsync() => RunScriptAsync("stop");

    public Task StartAsync() => RunScriptAsync("start");

    private Task RunScriptAsync(string verb) => ProjectScript.RunAsync("rabbitmq", verb, Port);
}
