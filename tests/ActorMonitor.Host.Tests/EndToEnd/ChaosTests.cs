using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// The chaos run's short profile (ChaosRun, shared with `bench/run chaos`): a simulated fleet and a
/// real Celery worker stream into three nodes on PostgreSQL and one on SQLite while each fault
/// comes once (kill -9, RabbitMQ down, PostgreSQL down, a node cut off, a full disk). Every
/// message the capture saw is durable once in both stores, the state equals Celery's on that
/// capture, live entities stay within their bound, and every fault is recovered from.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class ChaosTests(ChaosServices services, ITestOutputHelper output) : IClassFixture<ChaosServices>
{
    [Fact]
    public async Task Every_event_survives_each_fault_once_and_the_state_equals_celerys()
    {
        var work = Directory.CreateTempSubdirectory("am-chaos-").FullName;
        var env = new ChaosEnvironment(services.BrokerPort, services.PostgresPort, services.PostgresConnection, work);
        ChaosReport report;
        await using (var run = new ChaosRun(env, ChaosProfile.Short, output.WriteLine))
            report = await run.RunAsync();
        output.WriteLine(report.Table());
        // AM_TEST_LOGS=DIR keeps the capture and every node's log of the run.
        if (Environment.GetEnvironmentVariable("AM_TEST_LOGS") is { Length: > 0 } logs)
            CopyDirectory(work, Path.Combine(logs, Path.GetFileName(work)));
        Assert.Empty(report.Failures);
        Assert.Equal(5 * ChaosProfile.Short.Rounds, report.Faults.Count);
        Assert.All(report.Faults, f => Assert.NotNull(f.RecoverySeconds));
        Directory.Delete(work, recursive: true);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}

/// <summary>
/// RabbitMQ and PostgreSQL of the chaos run's own (scripts/rabbitmq, scripts/postgres), on ports
/// below the ephemeral range: the run stops and starts both (<see cref="ChaosEnvironment.ServicePort"/>).
/// </summary>
public sealed class ChaosServices : IAsyncLifetime
{
    public int BrokerPort { get; } = ChaosEnvironment.ServicePort();
    public int PostgresPort { get; } = ChaosEnvironment.ServicePort();
    public string PostgresConnection { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await ProjectScript.RunAsync("rabbitmq", "start", BrokerPort);
        PostgresConnection = (await ProjectScript.RunAsync("postgres", "start", PostgresPort)).Trim().Split('\n')[^1];
    }

    public async Task DisposeAsync()
    {
        await ProjectScript.RunAsync("rabbitmq", "stop", BrokerPort);
        await ProjectScript.RunAsync("postgres", "stop", PostgresPort);
        foreach (var data in new[] { Repo.Path(".run", $"rabbitmq-{BrokerPort}"), Repo.Path(".run", $"postgres-{PostgresPort}") })
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }
}
