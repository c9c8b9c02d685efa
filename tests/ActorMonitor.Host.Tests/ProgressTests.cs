using System.Diagnostics;
using System.Text.Json;
using ActorMonitor.Host.Commands;
using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// The live progress line of the long commands: on a terminal (a pseudo-terminal from util-linux's
/// `script` here) replay draws it on standard error; piped, it prints nothing of the kind.
/// </summary>
public sealed class ProgressTests
{
    [Fact]
    public async Task Replay_on_a_terminal_draws_a_progress_line_on_stderr_and_keeps_stdout_for_the_json()
    {
        var sample = Repo.Path("samples", "real-celery-5.2.6.jsonl");
        var json = Path.GetTempFileName();
        try
        {
            // Standard output to a file, standard error to the pseudo-terminal, which `script` copies to its own output.
            var dll = Path.Combine(AppContext.BaseDirectory, "actormonitor.dll");
            var terminal = await RunAsync("script", "-qec", $"dotnet {Quote(dll)} replay {Quote(sample)} > {Quote(json)}", "/dev/null");
            Assert.Equal(0, terminal.ExitCode);
            Assert.Matches(@"\rreplay  204 messages  [\d,]+/s  0:\d\d  100%\u001b\[K\r?\n", terminal.Output);
            using var state = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            Assert.Equal(204, state.RootElement.GetProperty("messages").GetInt64());
            Assert.DoesNotContain("replay  ", await File.ReadAllTextAsync(json));
        }
        finally
        {
            File.Delete(json);
        }

        var piped = await Cli.RunAsync("replay", sample);
        Assert.Equal(0, piped.ExitCode);
        Assert.DoesNotContain("replay  ", piped.Stderr);
        Assert.DoesNotContain("\r", piped.Stderr + piped.Stdout);
    }

    [Fact]
    public void The_line_has_count_rate_elapsed_and_with_a_total_the_share_done_and_an_eta()
    {
        var output = new StringWriter();
        var line = new ProgressLine(output, "publish", "messages", totalBytes: 4000);
        line.Report(12345, 1000);
        Assert.Matches(@"^publish  12,345 messages  [\d,]+/s  0:\d\d  25%  ETA 0:\d\d$", line.Text());
        line.Report(12346, 4000);
        line.Dispose();
        Assert.Matches(@"\rpublish  12,346 messages  [\d,]+/s  0:\d\d  100%\u001b\[K\n$", output.ToString());

        var open = new ProgressLine(null, "capture", "messages");
        open.Report(7);
        Assert.False(open.Shown);
        Assert.Matches(@"^capture  7 messages  [\d,]+/s  0:\d\d$", open.Text()); // no total: no share, no ETA
        open.Dispose();
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout + await stderr);
    }

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''") + "'";
}
