using System.Text.RegularExpressions;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Client.Tests;

/// <summary>
/// samples/ActorMonitor.Client.Sample (built with this project) run as its own process against
/// the fixture's live node: once as a cluster member, once through a ClusterClient; what it
/// prints is Celery's state of the corpus the node consumed.
/// </summary>
[Trait("Category", "EndToEnd")]
public class SampleTests(MonitorAndClient cluster, ITestOutputHelper output) : IClassFixture<MonitorAndClient>
{
    private static string SampleDll()
    {
        // This project's output is bin/<configuration>/<tfm>/; the sample's is the same under its own folder.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return Repo.Path("samples", "ActorMonitor.Client.Sample", "bin", here.Parent!.Name, here.Name, "ActorMonitor.Client.Sample.dll");
    }

    [Fact]
    public async Task The_sample_prints_the_same_answers_as_a_member_and_through_a_cluster_client()
    {
        var dll = SampleDll();
        Assert.True(File.Exists(dll), $"the sample is built beside the tests: {dll}");
        await using var sample = ChildProcess.Start("sample", "dotnet", [dll, cluster.MonitorAddress.ToString(), "--limit", "3"]);
        var exitCode = await sample.TerminateAfterExitAsync(TimeSpan.FromSeconds(120));
        output.WriteLine(sample.Stdout);
        output.WriteLine(sample.Stderr);
        Assert.Equal(0, exitCode);

        var reference = new QueryReference(MonitorAndClient.CorpusName);
        var all = reference.Tasks;
        string ByKey(string key) => string.Join(", ", all.Where(t => t.Str(key) is not null).GroupBy(t => t.Str(key)!)
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}"));
        var newest = QueryReference.Order(all, "received", descending: true).Take(3).ToList();
        var workers = cluster.Expected.RootElement.GetProperty("workers").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
        var stats = await cluster.Node.Queries.ReceiverStatsAsync();

        // Whatever Akka logged before the first section is left out.
        var sections = Regex.Split(sample.Stdout, "(?m)^== ").Skip(1).ToList();
        Assert.Equal(2, sections.Count);
        Assert.StartsWith("as a cluster member (role client)", sections[0]);
        Assert.StartsWith("through a ClusterClient, contact " + cluster.MonitorAddress + "/system/receptionist", sections[1]);
        foreach (var section in sections)
        {
            var lines = section.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            string Line(string prefix) => lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
                ?? throw new Xunit.Sdk.XunitException($"no line '{prefix}...' in:\n{section}");

            var task = newest[0];
            Assert.Equal($"task {task.Uuid}: state {task.Str("state")}, name {task.Str("name")}, worker {task.Str("worker") ?? "-"}", Line("task "));
            Assert.Equal($"tasks: {all.Count} in all; page of 3 from offset 0, newest received first:", Line("tasks: "));
            Assert.Equal(newest.Select(t => t.Uuid), lines.Where(l => Regex.IsMatch(l, "^  [0-9a-f-]{36}  ")).Select(l => l[2..38]));
            Assert.Equal($"counts: total {all.Count}", Line("counts: "));
            Assert.Equal($"  by state: {ByKey("state")}", Line("  by state: "));
            Assert.Equal($"  by name: {ByKey("name")}", Line("  by name: "));
            Assert.Equal($"  by worker: {ByKey("worker")}", Line("  by worker: "));
            Assert.Equal($"workers: {workers.Count}", Line("workers: "));
            Assert.All(workers, w => Assert.Contains(lines, l => l.StartsWith($"  {w}: ", StringComparison.Ordinal)));
            Assert.StartsWith($"stats of {cluster.MonitorAddress}: messages {stats.Messages}, rejected {stats.RejectedMessages}, " +
                $"accepted events {stats.AcceptedEvents}, rejected events {stats.RejectedEvents}", Line("stats of "));
            Assert.StartsWith("  store memory: ", Line("  store "));
        }
    }
}
