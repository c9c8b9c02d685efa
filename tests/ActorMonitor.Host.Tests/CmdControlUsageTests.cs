using System.Diagnostics;
using System.Text.Json;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>`cmd celery`'s control commands without a node: listed in help, and what cannot be undone is refused before anything is sent.</summary>
public sealed class CmdControlUsageTests
{
    [Fact]
    public async Task The_palette_lists_the_control_commands()
    {
        var help = await Cli.RunAsync("cmd", "celery", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var command in new[] { "inspect", "revoke", "terminate", "rate-limit", "time-limit", "pool-grow", "pool-shrink", "autoscale",
                     "add-consumer", "cancel-consumer", "shutdown", "send-task" })
            Assert.Contains($"  {command} ", help.Stdout + help.Stderr);
    }

    [Theory]
    [InlineData("shutdown", "w@x")]
    [InlineData("revoke", "0c1a0e9e-0000-4000-8000-000000000000")]
    [InlineData("terminate", "0c1a0e9e-0000-4000-8000-000000000000", "--signal", "SIGKILL")]
    [InlineData("pool-shrink", "w@x", "--n", "2")]
    [InlineData("cancel-consumer", "w@x", "q")]
    public async Task A_destructive_command_without_yes_and_no_terminal_is_exit_2_before_the_node_is_asked(params string[] command)
    {
        // An address nothing listens on: had the command been sent, the line would say it cannot reach the node.
        var result = await CmdControlTests.RunWithoutTerminalAsync(["cmd", "--url", $"http://127.0.0.1:{Repo.FreePort()}", "celery", .. command]);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"actormonitor: {command[0]}: standard input is not a terminal to confirm on: give --yes (nothing done)", line);
        Assert.Equal("", result.Stdout);
    }

    [Theory]
    [InlineData("--args", "{\"x\":1}", "--args must be a JSON array")]
    [InlineData("--args", "[1,", "--args is not JSON")]
    [InlineData("--kwargs", "[1]", "--kwargs must be a JSON object")]
    public async Task Send_task_refuses_arguments_that_are_not_the_right_json(string option, string value, string message)
    {
        var result = await Cli.RunAsync("cmd", "--url", $"http://127.0.0.1:{Repo.FreePort()}", "celery", "send-task", "proj.add", option, value);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("actormonitor: " + message, Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }
}
