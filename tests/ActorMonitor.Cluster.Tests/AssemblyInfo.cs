// Cluster specs start ActorSystems and are CPU-heavy on a 2-core machine: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
