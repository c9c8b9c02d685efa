using System.CommandLine;
using System.Text.Json;
using static ActorMonitor.Host.Commands.Cmd.CmdRunner;

namespace ActorMonitor.Host.Commands.Cmd;

/// <summary>
/// `cmd cluster`: membership as this node sees it, leave and down (Petabridge.Cmd's cluster palette),
/// and `cmd cluster sharding`: the sharded regions, entities per node and per shard.
/// </summary>
internal static class ClusterPalette
{
    public static Command Build(CmdOptions options)
    {
        var palette = new Command("cluster", "Cluster membership and sharding: show, leave, down, sharding.");
        palette.Subcommands.Add(Show(options));
        palette.Subcommands.Add(Membership(options, "leave",
            "Make a member leave gracefully: it stops consuming, writes its last checkpoint, hands its shards off and exits."));
        palette.Subcommands.Add(Membership(options, "down",
            "Down a member that is gone (crashed, unreachable): the others take its shards over without waiting for it."));
        palette.Subcommands.Add(Sharding(options));
        return palette;
    }

    private static Command Show(CmdOptions options)
    {
        var cmd = new Command("show", "Every member: address, status, roles, reachability; the leader and this node.");
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            using var doc = await client.GetRequiredAsync("/api/cluster", ct);
            var r = doc.RootElement;
            if (parse.GetValue(options.Json)) { output.Json(r); return 0; }
            output.Table(["ADDRESS", "STATUS", "ROLES", "REACHABLE", "LEADER", "SELF"],
                r.GetProperty("members").EnumerateArray().Select(m => new[]
                {
                    Get(m, "address"), Get(m, "status"),
                    string.Join(",", m.GetProperty("roles").EnumerateArray().Select(x => x.GetString())),
                    Get(m, "reachable"), m.GetProperty("leader").GetBoolean() ? "*" : "", m.GetProperty("self").GetBoolean() ? "*" : "",
                }));
            output.Line();
            output.Line($"leader: {Get(r, "leader") ?? "none"}; this node: {Get(r, "self")} ({Get(r, "node_name")}); " +
                $"{r.GetProperty("members").GetArrayLength()} member(s), {r.GetProperty("unreachable").GetArrayLength()} unreachable");
            return 0;
        });
        return cmd;
    }

    private static Command Membership(CmdOptions options, string action, string description)
    {
        var address = new Argument<string>("ADDRESS") { Description = "the member's address, as `cmd cluster show` prints it (akka.tcp://actormonitor@host:port)" };
        var cmd = new Command(action, description) { address };
        SetAction(cmd, options, async (parse, client, output, ct) =>
        {
            var target = parse.GetValue(address)!;
            using var doc = await client.PostAsync($"/api/cluster/{action}?address={Uri.EscapeDataString(target)}", ct);
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            output.Line($"{action}: {Get(doc.RootElement, "address")} (was {Get(doc.RootElement, "status")}); " +
                (action == "leave" ? "it hands its shards off and leaves" : "the others take its shards over") +
                "; `cmd cluster show` follows it");
            return 0;
        });
        return cmd;
    }

    private static Command Sharding(CmdOptions options)
    {
        var palette = new Command("sharding", "The sharded entity types (task, worker): regions, entities per node and per shard.");

        var regions = new Command("regions", "Every sharded type: the nodes hosting its region, its shards and live entities.");
        SetAction(regions, options, async (parse, client, output, ct) =>
        {
            using var doc = await client.GetRequiredAsync("/api/sharding/regions", ct);
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            output.Table(["TYPE", "NODES", "SHARDS", "ENTITIES", "FAILED SHARDS"],
                doc.RootElement.GetProperty("regions").EnumerateArray().Select(t => new[]
                {
                    Get(t, "type"), t.GetProperty("nodes").GetArrayLength().ToString(), Count(t, "shards"), Count(t, "entities"), Count(t, "failed_shards"),
                }));
            return 0;
        });
        palette.Subcommands.Add(regions);

        var regionType = TypeArgument();
        var regionStats = new Command("region-stats",
            "Per node: shards hosted, entities live in memory, passivated (rows in the store, not in memory), and in all.") { regionType };
        SetAction(regionStats, options, async (parse, client, output, ct) =>
        {
            using var doc = await client.GetRequiredAsync($"/api/sharding/{parse.GetValue(regionType)}/region-stats", ct);
            if (parse.GetValue(options.Json)) { output.Json(doc.RootElement); return 0; }
            NodeTable(output, doc.RootElement);
            return 0;
        });
        palette.Subcommands.Add(regionStats);

        var shardType = TypeArgument();
        var shardStats = new Command("shard-stats",
            "Per shard and per node: entities live in memory, passivated (rows in the store, not in memory), and in all.") { shardType };
        SetAction(shardStats, options, async (parse, client, output, ct) =>
        {
            using var doc = await client.GetRequiredAsync($"/api/sharding/{parse.GetValue(shardType)}/shard-stats", ct);
            var r = doc.RootElement;
            if (parse.GetValue(options.Json)) { output.Json(r); return 0; }
            output.Table(["SHARD", "NODE", "LIVE", "PASSIVATED", "ENTITIES"],
                r.GetProperty("shards").EnumerateArray().Select(s => new[]
                {
                    Get(s, "shard"), Get(s, "node") ?? "(not allocated)", Count(s, "live"), Count(s, "passivated"),
                    HumanFormat.Count(s.GetProperty("live").GetInt32() + s.GetProperty("passivated").GetInt32()),
                }));
            output.Line();
            NodeTable(output, r);
            return 0;
        });
        palette.Subcommands.Add(shardStats);
        return palette;
    }

    private static Argument<string> TypeArgument()
    {
        var type = new Argument<string>("TYPE") { Description = "the sharded type: task or worker" };
        type.AcceptOnlyFromAmong("task", "worker");
        return type;
    }

    private static void NodeTable(CmdOutput output, JsonElement r)
    {
        var totals = r.GetProperty("totals");
        output.Table(["NODE", "SHARDS", "LIVE", "PASSIVATED", "ENTITIES"],
            r.GetProperty("nodes").EnumerateArray().Select(n => new[]
            {
                Get(n, "node") ?? "(not allocated)", Count(n, "shards"), Count(n, "live"), Count(n, "passivated"),
                HumanFormat.Count(n.GetProperty("live").GetInt32() + n.GetProperty("passivated").GetInt32()),
            }).Append([ "total", Count(totals, "shards"), Count(totals, "live"), Count(totals, "passivated"), Count(totals, "entities") ]));
        if (!r.GetProperty("checkpointed").GetBoolean())
            output.Line("(the checkpoint before counting failed: rows may lag what is live)");
    }
}
