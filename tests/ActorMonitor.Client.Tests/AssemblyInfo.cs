// Each spec class starts ActorSystems (a two-node cluster on loopback) on a 2-core machine: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
