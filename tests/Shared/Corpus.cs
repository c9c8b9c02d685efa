namespace ActorMonitor.Tests.Shared;

/// <summary>The captures with Celery's expected state, copied into tests/corpus.</summary>
public static class Corpus
{
    public static string Root { get; } = FindRoot();

    public static string Capture(string name) => Path.Combine(Root, name, "capture.jsonl");

    public static string Expected(string name) => Path.Combine(Root, name, "expected.json");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "corpus");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("tests/corpus not found above " + AppContext.BaseDirectory);
    }
}
