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
        NativeHeap.LimitArenas();
        // Anything written through Console.Out (Akka's fallback logger during start-up and
        // shutdown among it) goes to standard error; data goes to the raw standard output.
        DataOut = Console.OpenStandardOutput();
        Console.SetOut(Console.Error);
        try
        {
            // SIGTERM/SIGINT cancel the command; a node then checkpoints and leaves the cluster, which
            // takes longer than System.CommandLine's default 2 s before it forces the exit.
            var parse = BuildRoot().Parse(args);
            if (Commands.Cmd.CmdCommand.RejectUsage(parse) is { } usage) return usage;
            if (parse.Errors.Count == 0) CliLog.Configure(parse);
            return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(90) });
        }
        catch (Exception ex)
        {
            return CliError.Fail(ex.GetBaseException().Message);
        }
    }

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ActorMonitor: real-time monitoring of Celery clusters on an Akka.NET cluster.");
        root.Options.Add(CliLog.CreateOption());
        root.Subcommands.Add(Replay());
        root.Subcommands.Add(Run());
        root.Subcommands.Add(State());
        root.Subcommands.Add(HealthCommand.Build());
        root.Subcommands.Add(Commands.Cmd.CmdCommand.Build());
        root.Subcommands.Add(Capture());
        root.Subcommands.Add(Publish());
        root.Subcommands.Add(Dump());
        root.Subcommands.Add(Simulate());
        return root;
    }

    private static Command Replay()
    {
        var capture = new Argument<string>("CAPTURE") { Description = "capture file (JSON lines, one AMQP message a line)" };
        var asOf = new Option<string?>("--as-of") { Description = "epoch seconds at which 'alive' is judged (default: the last local_received)" };
        var options = new NodeOptions(node: false, stateOnly: true);
        var cmd = new Command("replay", "Replay a capture through the receiver and the sharded entities; print the state JSON.")
        {
            capture, asOf,
        };
        foreach (var o in options.All.Where(o => o.Name != "--broker")) cmd.Options.Add(o);
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
            // A replay keeps its state in memory unless told otherwise.
            var hocon = "actormonitor.journal = memory\n" + options.Hocon(parse);
            return await ReplayCommand.RunAsync(parse.GetValue(capture)!, asOfValue, hocon, DataOut, ct);
        });
        return cmd;
    }

    private static Command Run()
    {
        var options = new NodeOptions(node: true);
        var cmd = new Command("run", "Run a monitor node: consume the broker's events into the cluster, serve HTTP.");
        foreach (var o in options.All) cmd.Options.Add(o);
        cmd.SetAction(async (parse, ct) => await RunCommand.RunAsync(options.Hocon(parse), ct));
        return cmd;
    }

    private static Command State()
    {
        var url = new Option<string>("--url") { Description = "the node's HTTP endpoint", DefaultValueFactory = _ => "http://127.0.0.1:5555" };
        var asOf = new Option<string?>("--as-of") { Description = "epoch seconds at which 'alive' is judged (default: the last local_received)" };
        var task = new Option<string?>("--task") { Description = "print only this task (the schema of tasks[uuid]); exit code 3 when it is unknown" };
        var token = Commands.Cmd.CmdOptions.TokenOption(recursive: false);
        var basic = Commands.Cmd.CmdOptions.BasicOption(recursive: false);
        var cmd = new Command("state", "Print a running cluster's state in the schema replay prints.") { url, asOf, task, token, basic };
        cmd.SetAction(async (parse, ct) =>
        {
            var node = new StateCommand.Node(parse.GetValue(url)!, parse.GetValue(token), parse.GetValue(basic));
            if (parse.GetValue(task) is { } uuid) return await StateCommand.TaskAsync(node, uuid, DataOut, ct);
            if (!TryEpoch(parse.GetValue(asOf), out var at)) return CliError.Fail($"--as-of must be epoch seconds, not '{parse.GetValue(asOf)}'");
            return await StateCommand.RunAsync(node, at, DataOut, ct);
        });
        return cmd;
    }

    private static Command Capture()
    {
        var options = new NodeOptions(node: false);
        var output = new Argument<string>("OUT") { Description = "capture file to write (JSON lines)" };
        var seconds = new Argument<double>("SECONDS") { Description = "how long to record" };
        var cmd = new Command("capture", "Record every message on the event exchange, in the capture format.") { output, seconds };
        foreach (var o in options.All) cmd.Options.Add(o);
        cmd.SetAction(async (parse, ct) => await BrokerCommands.CaptureAsync(options.Hocon(parse), parse.GetValue(output)!, parse.GetValue(seconds), ct));
        return cmd;
    }

    private static Command Publish()
    {
        var options = new NodeOptions(node: false);
        var capture = new Argument<string>("CAPTURE") { Description = "capture file to publish" };
        var rate = new Option<double?>("--rate") { Description = "messages per second (default: as fast as the broker takes them)" };
        var cmd = new Command("publish", "Publish a capture's messages to the event exchange as they were recorded.") { capture, rate };
        foreach (var o in options.All) cmd.Options.Add(o);
        cmd.SetAction(async (parse, ct) => await BrokerCommands.PublishAsync(options.Hocon(parse), parse.GetValue(capture)!, parse.GetValue(rate), ct));
        return cmd;
    }

    private static Command Dump()
    {
        var options = new NodeOptions(node: false);
        var cmd = new Command("dump", "Print every event live, one line each, as `celery events --dump` does.");
        foreach (var o in options.All) cmd.Options.Add(o);
        cmd.SetAction(async (parse, ct) => await BrokerCommands.DumpAsync(options.Hocon(parse), DataOut, ct));
        return cmd;
    }

    private static Command Simulate()
    {
        var options = new NodeOptions(node: false);
        var workers = new Option<int>("--workers") { Description = "simulated workers", DefaultValueFactory = _ => 4 };
        var rate = new Option<double>("--rate") { Description = "tasks per second", DefaultValueFactory = _ => 10 };
        var duration = new Option<double?>("--duration") { Description = "seconds to run (default: until Ctrl-C)" };
        var failures = new Option<double>("--failure-rate") { Description = "fraction of tasks that fail, 0..1", DefaultValueFactory = _ => 0 };
        var cmd = new Command("simulate", "A fleet of simulated Celery workers and a client publishing events, for demos and load.")
        {
            workers, rate, duration, failures,
        };
        foreach (var o in options.All) cmd.Options.Add(o);
        cmd.SetAction(async (parse, ct) => await SimulateCommand.RunAsync(options.Hocon(parse), parse.GetValue(workers), parse.GetValue(rate),
            parse.GetValue(duration), parse.GetValue(failures), ct));
        return cmd;
    }

    private static bool TryEpoch(string? text, out double? value)
    {
        value = null;
        if (text is null) return true;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v)) return false;
        value = v;
        return true;
    }

    private static Option<string?> HoconOption() =>
        new("--config") { Description = "extra HOCON (text) that overrides hocon/actormonitor.conf" };
}
