using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Microsoft.Extensions.Logging;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// --log-level on every command (docs/operations.md, "The executable"): the tools default to warning, so a
/// clean replay leaves standard error empty; run defaults to info; the flag wins over
/// ACTORMONITOR_LOG_LEVEL, and the level is Akka's too.
/// </summary>
public sealed class LogLevelTests
{
    [Theory]
    [InlineData("publish", "capture.jsonl", "--rate", "10")]
    [InlineData("simulate", "--workers", "2", "--duration", "1")]
    [InlineData("capture", "out.jsonl", "5")]
    [InlineData("replay", "capture.jsonl")]
    [InlineData("dump")]
    [InlineData("state")]
    [InlineData("health")]
    [InlineData("cmd", "celery", "stats")]
    [InlineData("run")]
    public void Every_command_takes_the_flag_and_the_flag_wins_over_the_variable(params string[] command)
    {
        foreach (var (value, level) in new[] { ("debug", LogLevel.Debug), ("info", LogLevel.Information), ("error", LogLevel.Error), ("off", LogLevel.None) })
        {
            var parse = Program.BuildRoot().Parse([.. command, "--log-level", value]);
            Assert.Empty(parse.Errors);
            Assert.Equal(command[0], Top(parse));
            Assert.Equal(level, CliLog.Resolve(parse, environment: null));
            Assert.Equal(level, CliLog.Resolve(parse, environment: "warning"));
        }
        var plain = Program.BuildRoot().Parse(command);
        Assert.Empty(plain.Errors);
        Assert.Equal(command[0] == "run" ? LogLevel.Information : LogLevel.Warning, CliLog.Resolve(plain, environment: null));
        Assert.Equal(LogLevel.Debug, CliLog.Resolve(plain, environment: "debug"));
        Assert.Throws<FormatException>(() => CliLog.Resolve(plain, environment: "loud"));
        Assert.NotEmpty(Program.BuildRoot().Parse([.. command, "--log-level", "loud"]).Errors);
    }

    [Fact]
    public void The_level_is_akkas_level()
    {
        Assert.Equal("DEBUG", CliLog.AkkaLevel(LogLevel.Debug));
        Assert.Equal("INFO", CliLog.AkkaLevel(LogLevel.Information));
        Assert.Equal("WARNING", CliLog.AkkaLevel(LogLevel.Warning));
        Assert.Equal("ERROR", CliLog.AkkaLevel(LogLevel.Error));
        Assert.Equal("OFF", CliLog.AkkaLevel(LogLevel.None));
    }

    [Fact]
    public async Task A_clean_replay_at_warning_prints_the_json_and_leaves_stderr_empty()
    {
        var sample = Repo.Path("samples", "real-celery-5.2.6.jsonl");
        foreach (var args in new[] { new[] { "replay", sample }, ["replay", sample, "--log-level", "warning"] })
        {
            var r = await Cli.RunAsync(args);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal("", r.Stderr);
            using var state = JsonDocument.Parse(r.Stdout);
            Assert.Equal(204, state.RootElement.GetProperty("messages").GetInt64());
        }
    }

    [Fact]
    public async Task At_info_the_replay_says_what_it_did_and_akka_logs_too_and_the_variable_works_without_the_flag()
    {
        var sample = Repo.Path("samples", "real-celery-5.2.6.jsonl");
        var info = await Cli.RunAsync("replay", sample, "--log-level", "info");
        Assert.Equal(0, info.ExitCode);
        Assert.Matches(@"(?m)^actormonitor: replayed 204 messages \(339 events\) in ", info.Stderr);
        Assert.Contains("[INFO]", info.Stderr);
        Assert.Contains("Starting remoting", info.Stderr);
        using (JsonDocument.Parse(info.Stdout)) { } // still only the JSON on standard output

        var viaEnv = await Cli.RunWithEnvAsync(new Dictionary<string, string> { [CliLog.EnvVar] = "info" }, "replay", sample);
        Assert.Contains("actormonitor: replayed 204 messages", viaEnv.Stderr);
        var flagWins = await Cli.RunWithEnvAsync(new Dictionary<string, string> { [CliLog.EnvVar] = "info" }, "replay", sample, "--log-level", "error");
        Assert.Equal("", flagWins.Stderr);
        var bad = await Cli.RunWithEnvAsync(new Dictionary<string, string> { [CliLog.EnvVar] = "loud" }, "replay", sample);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains($"{CliLog.EnvVar} must be one of debug, info, warning, error, off, not 'loud'", bad.Stderr);
    }

    [Fact]
    public async Task Off_still_prints_the_failure_that_ends_a_command()
    {
        var r = await Cli.RunAsync("replay", "/nonexistent/capture.jsonl", "--log-level", "off");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("actormonitor: cannot read capture", r.Stderr);
    }

    private static string Top(System.CommandLine.ParseResult parse)
    {
        var r = parse.CommandResult;
        while (r.Parent is System.CommandLine.Parsing.CommandResult { Parent: not null } parent) r = parent;
        return r.Command.Name;
    }
}
