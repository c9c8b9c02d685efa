using System.CommandLine;
using System.Text.Json;

namespace ActorMonitor.Host.Commands.Cmd;

/// <summary>`cmd actor hierarchy`: the node's /user and /system actor trees (Petabridge.Cmd's actor palette).</summary>
internal static class ActorPalette
{
    public static Command Build(CmdOptions options)
    {
        var palette = new Command("actor", "The actors of the node the command talks to: hierarchy.");
        var depth = new Option<int>("--depth", "-d")
        {
            Description = $"levels below /user and /system (1 to {Http.ClusterApi.MaxDepth})", DefaultValueFactory = _ => Http.ClusterApi.DefaultDepth,
        };
        var children = new Option<int>("--children")
        {
            Description = "children listed per actor; the rest are counted", DefaultValueFactory = _ => Http.ClusterApi.DefaultChildren,
        };
        var hierarchy = new Command("hierarchy", "The actor tree of /user and /system, one path a line, depth-limited.") { depth, children };
        CmdRunner.SetAction(hierarchy, options, async (parse, client, output, ct) =>
        {
            using var doc = await client.GetRequiredAsync($"/api/actors?depth={parse.GetValue(depth)}&children={parse.GetValue(children)}", ct);
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            output.Line($"{doc.RootElement.GetProperty("address").GetString()}");
            foreach (var root in doc.RootElement.GetProperty("roots").EnumerateArray()) Print(output, root, 0);
            return 0;
        });
        palette.Subcommands.Add(hierarchy);
        return palette;
    }

    private static void Print(CmdOutput output, JsonElement actor, int level)
    {
        var shown = actor.GetProperty("children");
        var count = actor.GetProperty("child_count").GetInt32();
        var indent = new string(' ', 2 * level);
        // Past the depth limit only the number of children is known.
        var suffix = shown.GetArrayLength() == 0 && count > 0 ? $"  ({count} children)" : "";
        output.Line($"{indent}{actor.GetProperty("path").GetString()}{suffix}");
        foreach (var child in shown.EnumerateArray()) Print(output, child, level + 1);
        if (shown.GetArrayLength() > 0 && count > shown.GetArrayLength())
            output.Line($"{indent}  … {count - shown.GetArrayLength()} more");
    }
}
