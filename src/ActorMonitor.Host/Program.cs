using System.CommandLine;
using System.Globalization;
using ActorMonitor.Host.Commands;

namespace ActorMonitor.Host;

public static class Program
{
    /// <summary>Standard output, reserved for command data (state JSON, tables).</summary>
    public static Stream DataOut { get; private set; } = Stream.Null;

    public static async Task<int> Main(string[] args)
    {
        // Anything written through Console.Out (Akka's fallback logger during start-up and
        // shutdown among it) goes to standard error; data goes to the raw standard output.
        DataOut = Console.OpenStandardOutput();
        Console.SetOut(Console.Error);
        try
        {
            return await BuildRoot().Parse(args).InvokeAsync();
        }
        catch (Exception ex)
        {
            return CliError.Fail(ex.GetBaseException().Message);
        }
    }

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ActorMonitor: real-time monitoring of Celery clusters on an Akka.NET cluster.");
        root.Subcommands.Add(Replay());
        return root;
    }

    private static Command Replay()
    {
        var capture = new Argument<string>("CAPTURE") { Description = "capture file (JSON lines, one AMQP message a line)" };
        var asOf = new Option<string?>("--as-of") { Description = "epoch seconds at which 'alive' is judged (default: the last local_received)" };
        var config = HoconOption();
        var cmd = new Command("replay", "Replay a capture through the receiver and the sharded entities; print the state JSON.")
        {
            capture, asOf, config,
        };
        cmd.SetAction(async (parse, ct) =>
        {
            var asOfText = parse.GetValue(asOf);
            double? asOfValue = null;
            if (asOfText is not null)
            {
                if (!double.TryParse(asOfText, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                    return CliError.Fail($"--as-of must be epoch seconds, not '{asOfText}'");
                asOfValue = v;
            }
            return await ReplayCommand.RunAsync(parse.GetValue(capture)!, asOfValue, parse.GetValue(config), DataOut, ct);
        });
        return cmd;
    }

    private static Option<string?> HoconOption() =>
        new("--config") { Description = "extra HOCON (text) that overrides hocon/actormonitor.conf" };
}
