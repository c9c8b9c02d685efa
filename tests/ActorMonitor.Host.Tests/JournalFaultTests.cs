using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// A journal that cannot be opened or is damaged ends `run` with one line naming the file,
/// SQLite's reason and what to do, and exit code 2; no stack trace.
/// </summary>
public sealed class JournalFaultTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("am-journal-").FullName;

    private static string ClosedBroker() => $"amqp://guest:guest@127.0.0.1:{Repo.FreePort()}//";

    private async Task<string> JournalAsync()
    {
        var path = Path.Combine(_dir, "state.db");
        var replay = await Cli.RunAsync("replay", Repo.Path("tests", "corpus", "synth-2k", "capture.jsonl"), "--journal", "sqlite:" + path);
        Assert.Equal(0, replay.ExitCode);
        Assert.True(new FileInfo(path).Length > 16384);
        return path;
    }

    private static async Task<string> RunFailsAsync(string journal)
    {
        var run = await Cli.RunAsync("run", "--broker", ClosedBroker(), "--journal", "sqlite:" + journal, "--http", $"127.0.0.1:{Repo.FreePort()}");
        Assert.Equal(2, run.ExitCode);
        Assert.DoesNotContain("   at ", run.Stderr);
        Assert.DoesNotContain("Unhandled exception", run.Stderr);
        var line = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.StartsWith($"actormonitor: journal sqlite:{journal}: ", line);
        return line;
    }

    [Fact]
    public async Task Garbage_at_the_start_of_the_file_is_one_line_and_exit_2_before_anything_starts()
    {
        var journal = await JournalAsync();
        await using (var f = File.OpenWrite(journal)) f.Write(Enumerable.Repeat((byte)'G', 4096).ToArray());
        var run = await Cli.RunAsync("run", "--broker", ClosedBroker(), "--journal", "sqlite:" + journal, "--http", $"127.0.0.1:{Repo.FreePort()}");
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"actormonitor: journal sqlite:{journal}: file is not a database (SQLite error 26); the file is damaged or not an ActorMonitor " +
            "journal: restore it from a backup, or move it away to start with an empty one", line);
    }

    [Fact]
    public async Task A_damaged_page_inside_the_file_is_one_line_and_exit_2()
    {
        var journal = await JournalAsync();
        await using (var f = File.OpenWrite(journal))
        {
            f.Position = 12288;
            f.Write(Enumerable.Repeat((byte)'G', 4096).ToArray());
        }
        var line = await RunFailsAsync(journal);
        Assert.Contains("database disk image is malformed (SQLite error 11)", line);
        Assert.Contains("restore it from a backup", line);
    }

    [Fact]
    public async Task A_directory_as_the_journal_is_one_line_and_exit_2()
    {
        var run = await Cli.RunAsync("run", "--broker", ClosedBroker(), "--journal", "sqlite:" + _dir, "--http", $"127.0.0.1:{Repo.FreePort()}");
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"actormonitor: journal sqlite:{_dir}: unable to open database file (SQLite error 14); the path is a directory: give a file's path (sqlite:DIR/actormonitor.db)", line);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
