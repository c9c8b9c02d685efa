using System.Text.Json;
using ActorMonitor.Client;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Cluster.Persistence;
using ActorMonitor.Cluster.Receiver;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ActorMonitor.Host.Http;

/// <summary>
/// Inspection and administration of the cluster, for `actormonitor cmd`: membership (and leave /
/// down), the sharded regions with live and passivated entities per node and per shard, and the
/// node's actor tree. Leave and down change the cluster: read-only mode refuses them (HttpSecurity).
/// </summary>
public static class ClusterApi
{
    public const int DefaultDepth = 3;
    public const int MaxDepth = 12;
    public const int DefaultChildren = 100;

    public static void Map(IEndpointRouteBuilder app, MonitorNode node)
    {
        var cluster = Akka.Cluster.Cluster.Get(node.System);

        app.MapGet("/api/cluster", () => Results.Json(Membership(node)));

        app.MapPost("/api/cluster/leave", (HttpRequest request) => ChangeMembership(request, cluster, "leave", cluster.Leave));
        app.MapPost("/api/cluster/down", (HttpRequest request) => ChangeMembership(request, cluster, "down", cluster.Down));

        app.MapGet("/api/sharding/regions", async () =>
        {
            var sharding = ClusterSharding.Get(node.System);
            var regions = new List<object>();
            foreach (var type in sharding.ShardTypeNames.Order(StringComparer.Ordinal))
            {
                var stats = await ClusterStatsAsync(sharding.ShardRegion(type), node);
                regions.Add(new
                {
                    type,
                    nodes = stats.Regions.Keys.Select(a => a.ToString()).Order(StringComparer.Ordinal).ToArray(),
                    shards = stats.Regions.Values.Sum(r => r.Stats.Count),
                    // A task shard's entity is a bucket of its tasks: the tasks are what a user counts.
                    entities = type == MonitorClient.TaskTypeName
                        ? (await LiveTasksAsync(node, stats)).Values.Sum()
                        : stats.Regions.Values.Sum(r => r.Stats.Values.Sum()),
                    failed_shards = stats.Regions.Values.Sum(r => r.Failed.Count),
                });
            }
            return Results.Json(new { regions });
        });

        app.MapGet("/api/sharding/{type}/region-stats", async (string type) =>
        {
            if (!KnownType(node, type)) return UnknownType(node, type);
            var view = await ShardViewAsync(node, type);
            return Results.Json(new { type, view.Checkpointed, nodes = view.Nodes, totals = view.Totals }, SnakeCase);
        });

        app.MapGet("/api/sharding/{type}/shard-stats", async (string type) =>
        {
            if (!KnownType(node, type)) return UnknownType(node, type);
            var view = await ShardViewAsync(node, type);
            return Results.Json(new { type, view.Checkpointed, shards = view.Shards, nodes = view.Nodes, totals = view.Totals }, SnakeCase);
        });

        app.MapGet("/api/actors", (HttpContext http) =>
        {
            if (!TryInt(http.Request.Query["depth"], DefaultDepth, 1, MaxDepth, out var depth))
                return Results.BadRequest(new { error = $"depth must be an integer from 1 to {MaxDepth}" });
            if (!TryInt(http.Request.Query["children"], DefaultChildren, 1, 10_000, out var children))
                return Results.BadRequest(new { error = "children must be an integer from 1 to 10000" });
            var system = (ExtendedActorSystem)node.System;
            return Results.Json(new
            {
                system = node.System.Name,
                address = cluster.SelfAddress.ToString(),
                depth,
                roots = new[] { Tree(system.Guardian, depth, children), Tree(system.SystemGuardian, depth, children) },
            });
        });
    }

    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>This node's view of the membership: every member with its status, roles and reachability, and the leader.</summary>
    public static object Membership(MonitorNode node)
    {
        var cluster = Akka.Cluster.Cluster.Get(node.System);
        var state = cluster.State;
        return new
        {
            self = cluster.SelfAddress.ToString(),
            node_name = node.Settings.NodeName,
            leader = state.Leader?.ToString(),
            members = state.Members.Select(m => new
            {
                address = m.Address.ToString(), status = m.Status.ToString(), roles = m.Roles.Order(StringComparer.Ordinal).ToArray(),
                reachable = !state.Unreachable.Contains(m), leader = m.Address.Equals(state.Leader), self = m.Address.Equals(cluster.SelfAddress),
            }).ToArray(),
            unreachable = state.Unreachable.Select(m => m.Address.ToString()).ToArray(),
        };
    }

    /// <summary>
    /// Leave (graceful: the member hands its shards off and stops) or down (the member is removed
    /// as it is, for one that is gone). The address comes from ?address= or a JSON body {"address": ...}.
    /// Answered 202: membership changes after the answer, as gossip spreads.
    /// </summary>
    private static async Task<IResult> ChangeMembership(HttpRequest request, Akka.Cluster.Cluster cluster, string action, Action<Address> change)
    {
        string? text = request.Query["address"];
        if (text is null && request.ContentLength is > 0)
        {
            try
            {
                using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
                if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("address", out var a) && a.ValueKind == JsonValueKind.String)
                    text = a.GetString();
            }
            catch (JsonException)
            {
                return Results.BadRequest(new { error = "the body must be JSON: {\"address\": \"akka.tcp://system@host:port\"}" });
            }
        }
        if (string.IsNullOrWhiteSpace(text)) return Results.BadRequest(new { error = "give the member's address: ?address=akka.tcp://system@host:port" });
        Address address;
        try
        {
            address = Address.Parse(text.Trim());
        }
        catch (Exception ex) when (ex is UriFormatException or ArgumentException or FormatException)
        {
            return Results.BadRequest(new { error = $"not an actor system address: {text}" });
        }
        var member = cluster.State.Members.FirstOrDefault(m => m.Address.Equals(address));
        if (member is null) return Results.NotFound(new { error = $"{address} is not a member of the cluster" });
        change(address);
        return Results.Json(new { action, address = address.ToString(), status = member.Status.ToString() }, statusCode: StatusCodes.Status202Accepted);
    }

    private static bool KnownType(MonitorNode node, string type) => ClusterSharding.Get(node.System).ShardTypeNames.Contains(type);

    private static IResult UnknownType(MonitorNode node, string type) =>
        Results.NotFound(new { error = $"no sharded type '{type}' (known: {string.Join(", ", ClusterSharding.Get(node.System).ShardTypeNames.Order())})" });

    private static async Task<ClusterShardingStats> ClusterStatsAsync(IActorRef region, MonitorNode node)
    {
        var timeout = TimeSpan.FromSeconds(5);
        return await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout + node.Settings.AskTimeout);
    }

    public sealed record ShardRow(string Shard, string? Node, int Live, int Stored, int Passivated);

    public sealed record NodeRow(string? Node, int Shards, int Live, int Stored, int Passivated);

    public sealed record Totals(int Shards, int Live, int Stored, int Passivated, int Entities);

    private sealed record ShardView(bool Checkpointed, IReadOnlyList<ShardRow> Shards, IReadOnlyList<NodeRow> Nodes, Totals Totals);

    /// <summary>
    /// Live entities per shard and node come from Akka's cluster-wide sharding statistics; what is
    /// stored comes from the rows, each hashed to its shard as the extractor does. Passivated =
    /// a shard's rows that are not live in memory (rows minus live entities: every live entity
    /// that applied an event has a row once the checkpoint taken first has committed). A shard
    /// with rows that no node hosts now (not yet allocated since a restart) has no node.
    /// </summary>
    private static async Task<ShardView> ShardViewAsync(MonitorNode node, string type)
    {
        var stats = await ClusterStatsAsync(ClusterSharding.Get(node.System).ShardRegion(type), node);
        bool checkpointed;
        try
        {
            await node.Queries.ClusterCheckpointAsync();
            checkpointed = true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or AskTimeoutException or TimeoutException)
        {
            checkpointed = false; // the counts stand; rows may lag the live entities
        }
        Func<string, string> shardOf = type == MonitorClient.WorkerTypeName
            ? new WorkerMessageExtractor(node.Settings.WorkerShards).ShardOf
            : new TaskMessageExtractor(node.Settings.TaskShards).ShardOf;
        var stored = await Task.Run(() =>
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var id in type == MonitorClient.WorkerTypeName ? node.Store.WorkerIds() : node.Store.TaskIds())
            {
                var shard = shardOf(id);
                counts[shard] = counts.GetValueOrDefault(shard) + 1;
            }
            return counts;
        });

        // Akka counts a task shard's one bucket; the keepers count the tasks held in memory.
        var tasksLive = type == MonitorClient.TaskTypeName ? await LiveTasksAsync(node, stats) : null;
        var live = new Dictionary<string, (string Node, int Count)>(StringComparer.Ordinal);
        foreach (var (address, region) in stats.Regions)
            foreach (var (shard, count) in region.Stats)
                live[shard] = (address.ToString(), tasksLive is null ? count : tasksLive.GetValueOrDefault(shard));
        var shards = live.Keys.Union(stored.Keys)
            .Select(s =>
            {
                var (host, liveCount) = live.TryGetValue(s, out var l) ? l : (null!, 0);
                var rows = stored.GetValueOrDefault(s);
                return new ShardRow(s, host, liveCount, rows, Math.Max(0, rows - liveCount));
            })
            .OrderBy(r => int.TryParse(r.Shard, out var n) ? n : int.MaxValue).ThenBy(r => r.Shard, StringComparer.Ordinal)
            .ToList();
        // Every region appears, an idle one with zeros; rows of unallocated shards under no node.
        var nodes = stats.Regions.Keys.Select(a => a.ToString()).Cast<string?>()
            .Concat(shards.Any(s => s.Node is null) ? new string?[] { null } : Array.Empty<string?>())
            .Select(n =>
            {
                var mine = shards.Where(s => s.Node == n).ToList();
                return new NodeRow(n, n is null ? 0 : mine.Count, mine.Sum(s => s.Live), mine.Sum(s => s.Stored), mine.Sum(s => s.Passivated));
            })
            .OrderBy(r => r.Node is null).ThenBy(r => r.Node, StringComparer.Ordinal)
            .ToList();
        var totals = new Totals(shards.Count(s => s.Node is not null), shards.Sum(s => s.Live), shards.Sum(s => s.Stored),
            shards.Sum(s => s.Passivated), shards.Sum(s => s.Live + s.Passivated));
        return new ShardView(checkpointed, shards, nodes, totals);
    }

    /// <summary>The tasks in memory per shard, summed over the keepers of the nodes hosting task shards (a silent keeper counts none).</summary>
    private static async Task<Dictionary<string, int>> LiveTasksAsync(MonitorNode node, ClusterShardingStats stats)
    {
        var timeout = TimeSpan.FromSeconds(5);
        var answers = await Task.WhenAll(stats.Regions.Keys.Select(async address =>
        {
            try
            {
                var answer = address.HasGlobalScope
                    ? node.System.ActorSelection(new RootActorPath(address) / "user" / CheckpointCoordinator.KeeperName).Ask<LiveTasksByShard>(GetLiveTasksByShard.Instance, timeout)
                    : node.Keeper.Ask<LiveTasksByShard>(GetLiveTasksByShard.Instance, timeout);
                return (await answer).Counts;
            }
            catch (Exception ex) when (ex is AskTimeoutException or TimeoutException)
            {
                return new Dictionary<string, int>();
            }
        }));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var answer in answers)
            foreach (var (shard, count) in answer)
                counts[shard] = counts.GetValueOrDefault(shard) + count;
        return counts;
    }

    /// <summary>
    /// Akka has no listing of an actor's children over the wire; in process, every local actor's
    /// cell knows its children, so the tree is read directly (a snapshot: actors come and go).
    /// </summary>
    private static object Tree(IActorRef actor, int depth, int maxChildren)
    {
        var children = actor is ActorRefWithCell withCell ? withCell.Children.ToList() : [];
        return new
        {
            name = actor.Path.Name,
            path = actor.Path.ToStringWithoutAddress(),
            child_count = children.Count,
            children = depth <= 0
                ? []
                : children.OrderBy(c => c.Path.Name, StringComparer.Ordinal).Take(maxChildren).Select(c => Tree(c, depth - 1, maxChildren)).ToArray(),
        };
    }

    private static bool TryInt(Microsoft.Extensions.Primitives.StringValues values, int fallback, int min, int max, out int value)
    {
        value = fallback;
        if (values.Count == 0) return true;
        return int.TryParse(values[0], out value) && value >= min && value <= max;
    }
}
