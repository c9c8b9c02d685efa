using System.CommandLine;

namespace ActorMonitor.Host.Commands.Cmd;

/// <summary>
/// actormonitor cmd PALETTE COMMAND: inspects and administers a running node over its HTTP
/// endpoint, in the manner of Petabridge.Cmd's palettes (cluster, cluster sharding, actor), plus
/// a celery palette for what the cluster knows of the monitored Celery cluster.
/// </summary>
public static class CmdCommand
{
    public const string Name = "cmd";

    public static Command Build()
    {
        var options = new CmdOptions();
        var cmd = new Command(Name, "Inspect and administer a running node over HTTP: palettes cluster, actor, celery (tables, or --json).");
        foreach (var o in options.All) cmd.Options.Add(o);
        cmd.Subcommands.Add(ClusterPalette.Build(options));
        cmd.Subcommands.Add(ActorPalette.Build(options));
        cmd.Subcommands.Add(CeleryPalette.Build(options));
        return cmd;
    }

    /// <summary>
    /// A `cmd` command line that does not parse (an unknown palette or command, a missing address)
    /// is one line on standard error and exit 2, as an unreachable node is: scripts tell usage
    /// errors from answers by the exit code alone. Null when this is not such a line.
    /// </summary>
    public static int? RejectUsage(ParseResult parse)
    {
        if (parse.Errors.Count == 0) return null;
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            if (r.Parent is not null) names.Insert(0, r.Command.Name);
        if (names.Count == 0 || names[0] != Name) return null;
        var path = string.Join(" ", names);
        // An unknown word is the whole story: "Required command was not provided" adds nothing to it.
        var errors = parse.UnmatchedTokens.Count > 0
            ? parse.UnmatchedTokens.Select(t => $"unknown command or argument '{t}'")
            : parse.Errors.Select(e => System.Text.RegularExpressions.Regex.Replace(e.Message, @"\s+", " ").Trim().TrimEnd('.'));
        return CliError.Fail($"{path}: {string.Join("; ", errors)} (`actormonitor {path} --help` lists what it takes)");
    }
}
