namespace ActorMonitor.Host;

/// <summary>Command-line failures: one line on standard error, no stack trace, exit code 2.</summary>
public static class CliError
{
    public const int ExitCode = 2;

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"actormonitor: {message}");
        return ExitCode;
    }
}
