using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

public class ReplayCliTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Missing_capture_is_one_line_on_stderr_and_exit_code_2()
    {
        var r = await Cli.RunAsync("replay", "/nonexistent/capture.jsonl");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("actormonitor: cannot read capture '/nonexistent/capture.jsonl'", line);
    }

    [Fact]
    public async Task A_directory_is_not_a_readable_capture()
    {
        var r = await Cli.RunAsync("replay", Path.GetTempPath());
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public async Task Bad_as_of_is_refused()
    {
        var r = await Cli.RunAsync("replay", Corpus.Capture("real-mixed-1"), "--as-of", "tomorrow");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--as-of", r.Stderr);
    }

    [Fact]
    public async Task Replay_prints_only_the_state_json_on_stdout_and_it_equals_celery()
    {
        var r = await Cli.RunAsync("replay", Corpus.Capture("real-mixed-1"), "--config", "actormonitor.receiver.utcoffset = 0");
        output.WriteLine(r.Stderr.Length > 2000 ? r.Stderr[^2000..] : r.Stderr);
        Assert.Equal(0, r.ExitCode);
        using var actual = JsonDocument.Parse(r.Stdout); // stdout is exactly one JSON document
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Corpus.Expected("real-mixed-1")));
        Assert.Empty(StateComparison.Differences(expected.RootElement, actual.RootElement));
        Assert.Equal(0, actual.RootElement.GetProperty("rejected").GetInt64());
    }

    [Fact]
    public async Task As_of_decides_which_workers_are_alive()
    {
        var capture = Corpus.Capture("synth-2k");
        var late = await Cli.RunAsync("replay", capture, "--as-of", "4000000000", "--config", "actormonitor.receiver.utcoffset = 0");
        Assert.Equal(0, late.ExitCode);
        using var doc = JsonDocument.Parse(late.Stdout);
        Assert.Equal(4000000000, doc.RootElement.GetProperty("as_of").GetDouble());
        Assert.Equal(0, doc.RootElement.GetProperty("alive_workers").GetArrayLength());
        Assert.All(doc.RootElement.GetProperty("workers").EnumerateObject(), w => Assert.False(w.Value.GetProperty("alive").GetBoolean()));
    }
}
