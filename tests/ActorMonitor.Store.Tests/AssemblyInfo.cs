// SQLite's connection pools are the process's, and the tests clear them: one test class at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
