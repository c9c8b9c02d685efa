using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace ActorMonitor.Host;

/// <summary>
/// --log-level (or ACTORMONITOR_LOG_LEVEL; the flag wins): what every command says on standard
/// error, Akka's log included. The tools default to warning, so a clean run prints its data and
/// nothing else; a node (run) defaults to info. A failure that ends a command is printed at any level.
/// </summary>
public static class CliLog
{
    public const string EnvVar = "ACTORMONITOR_LOG_LEVEL";
    public const string OptionName = "--log-level";

    private static readonly string[] Names = ["debug", "info", "warning", "error", "off"];

    /// <summary>The level of this process, set once the command line is parsed.</summary>
    public static LogLevel Level { get; private set; } = LogLevel.Warning;

    /// <summary>One option on the root command, recursive: every command takes it.</summary>
    public static Option<string?> CreateOption()
    {
        var option = new Option<string?>(OptionName)
        {
            Description = $"debug, info, warning, error or off (default: info for run, warning for the other commands) [env {EnvVar}]",
            Recursive = true,
        };
        option.AcceptOnlyFromAmong(Names);
        return option;
    }

    public static void Configure(ParseResult parse) => Level = Resolve(parse, Environment.GetEnvironmentVariable(EnvVar));

    /// <summary>The flag, else the variable, else the command's default.</summary>
    public static LogLevel Resolve(ParseResult parse, string? environment)
    {
        if (parse.GetValue<string?>(OptionName) is { } flag) return Parse(flag, OptionName);
        if (!string.IsNullOrWhiteSpace(environment)) return Parse(environment.Trim(), EnvVar);
        return TopCommand(parse) == "run" ? LogLevel.Information : LogLevel.Warning;
    }

    /// <summary>The value of akka.loglevel for a level.</summary>
    public static string AkkaLevel(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => "DEBUG",
        LogLevel.Information => "INFO",
        LogLevel.Warning => "WARNING",
        LogLevel.Error or LogLevel.Critical => "ERROR",
        _ => "OFF",
    };

    public static bool IsEnabled(LogLevel level) => level != LogLevel.None && level >= Level;

    public static void Info(string message) => Write(LogLevel.Information, message);

    public static void Warning(string message) => Write(LogLevel.Warning, message);

    public static void Error(string message) => Write(LogLevel.Error, message);

    private static void Write(LogLevel level, string message)
    {
        if (IsEnabled(level)) Console.Error.WriteLine("actormonitor: " + message);
    }

    private static LogLevel Parse(string text, string source) => text.ToLowerInvariant() switch
    {
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "off" => LogLevel.None,
        _ => throw new FormatException($"{source} must be one of {string.Join(", ", Names)}, not '{text}'"),
    };

    private static string? TopCommand(ParseResult parse)
    {
        System.CommandLine.Parsing.CommandResult? top = null;
        for (var r = parse.CommandResult; r.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent) top = r;
        return top?.Command.Name;
    }
}
