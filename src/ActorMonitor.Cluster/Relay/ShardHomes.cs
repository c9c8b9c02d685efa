using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorMonitor.Cluster.Relay;

/// <summary>
/// Where each shard of one entity type lived when the cluster was last asked (the regions'
/// <see cref="ClusterShardingStats"/>): a hint for batching events per node, never an authority
/// (the region on that node forwards what moved). Unknown shards and lost nodes have no home.
/// </summary>
public sealed class ShardHomes(Func<string, string> shardOf)
{
    private Dictionary<string, Address> _homes = new(StringComparer.Ordinal);

    public int Count => _homes.Count;

    /// <summary>The node that held the entity's shard, or null when none is known.</summary>
    public Address? Of(string entityId) => _homes.GetValueOrDefault(shardOf(entityId));

    /// <param name="self">This node's address: the local region is listed under an address without host.</param>
    public void Update(ClusterShardingStats stats, Address self)
    {
        var homes = new Dictionary<string, Address>(StringComparer.Ordinal);
        foreach (var (address, region) in stats.Regions)
        {
            var home = address.HasGlobalScope ? address : self;
            foreach (var shard in region.Stats.Keys) homes[shard] = home;
        }
        _homes = homes;
    }

    /// <summary>The node was lost or left: its shards move, wherever to.</summary>
    public void Forget(Address node)
    {
        foreach (var shard in _homes.Where(h => h.Value.Equals(node)).Select(h => h.Key).ToList()) _homes.Remove(shard);
    }
}
