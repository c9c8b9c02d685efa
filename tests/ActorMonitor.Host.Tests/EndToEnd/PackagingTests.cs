using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using ActorMonitor.Tests.Shared;
using Xunit.Abstractions;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// What ships: the `actormonitor` .NET tool packed from the repository, installed with
/// `dotnet tool install` and run; the ActorMonitor.Client and ActorMonitor.Celery packages with
/// their README; and the Dockerfile's `dotnet publish` line, whose output runs. Slow: each packs or
/// publishes a Release build (into a temporary artifacts folder, not the repository's bin/obj).
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class PackagingTests(ITestOutputHelper output) : IDisposable
{
    private const string Version = "0.1.0";
    private readonly string _tmp = Directory.CreateTempSubdirectory("am-pack-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private async Task<ChildProcess> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var p = ChildProcess.Start(Path.GetFileName(file), file, args, Repo.Root, env);
        var code = await p.TerminateAfterExitAsync(timeout ?? TimeSpan.FromMinutes(8));
        output.WriteLine($"$ {file} {string.Join(' ', args)} -> {code}");
        Assert.True(code == 0, $"{file} {string.Join(' ', args)} exited {code}:\n{LiveNode.Tail(p.Stdout)}\n{LiveNode.Tail(p.Stderr)}");
        return p;
    }

    private Task<ChildProcess> DotnetAsync(params string[] args) => RunAsync("dotnet", args);

    private string Artifacts => Path.Combine(_tmp, "artifacts");

    [Fact]
    public async Task The_packed_tool_installs_as_the_actormonitor_command_and_replays_a_capture()
    {
        var feed = Path.Combine(_tmp, "feed");
        await DotnetAsync("pack", Repo.Path("src", "ActorMonitor.Host"), "-c", "Release", "-o", feed, "--artifacts-path", Artifacts, "-nologo");
        var package = Path.Combine(feed, $"actormonitor.{Version}.nupkg");
        Assert.True(File.Exists(package), string.Join(", ", Directory.GetFiles(feed)));
        using (var zip = ZipFile.OpenRead(package))
        {
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.NotNull(zip.GetEntry("tools/net10.0/any/actormonitor.dll"));
            var settings = XDocument.Load(zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml")!.Open());
            Assert.Equal("actormonitor", settings.Descendants("Command").Single().Attribute("Name")!.Value);
        }

        // A packages folder of the test's own: nothing installed before (or cached) can stand in.
        var tools = Path.Combine(_tmp, "tools");
        await RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", feed, "actormonitor", "--version", Version],
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_tmp, "packages") });
        var replay = await RunAsync(Path.Combine(tools, "actormonitor"), ["replay", Repo.Path("samples", "real-celery-5.2.6.jsonl")], timeout: TimeSpan.FromMinutes(2));
        using var state = JsonDocument.Parse(replay.Stdout);
        Assert.Equal(80, state.RootElement.GetProperty("task_count").GetInt32());
        Assert.Equal(204, state.RootElement.GetProperty("messages").GetInt32());
        Assert.Contains("tasks.add", state.RootElement.GetProperty("task_types").EnumerateArray().Select(e => e.GetString()));
        // The same state as the executable built beside the tests gives (as_of is the replay's clock).
        var built = await Cli.RunAsync("replay", Repo.Path("samples", "real-celery-5.2.6.jsonl"));
        Assert.Equal(0, built.ExitCode);
        using var expected = JsonDocument.Parse(built.Stdout);
        var keys = expected.RootElement.EnumerateObject().Select(p => p.Name).Where(k => k != "as_of").ToList();
        Assert.Equal(keys.Order(), state.RootElement.EnumerateObject().Select(p => p.Name).Where(k => k != "as_of").Order());
        foreach (var key in keys)
            Assert.True(JsonElement.DeepEquals(expected.RootElement.GetProperty(key), state.RootElement.GetProperty(key)), $"replay's {key} differs");
    }

    [Fact]
    public async Task The_client_library_and_its_protocol_library_pack_with_their_README()
    {
        var feed = Path.Combine(_tmp, "feed");
        await DotnetAsync("pack", Repo.Path("src", "ActorMonitor.Client"), "-c", "Release", "-o", feed, "--artifacts-path", Artifacts, "-nologo");
        await DotnetAsync("pack", Repo.Path("src", "ActorMonitor.Celery"), "-c", "Release", "-o", feed, "--artifacts-path", Artifacts, "--no-build", "-nologo");
        foreach (var (id, dependencies) in new[] { ("ActorMonitor.Client", new[] { "ActorMonitor.Celery", "Akka", "Akka.Cluster", "Akka.Cluster.Sharding" }), ("ActorMonitor.Celery", []) })
        {
            var package = Path.Combine(feed, $"{id}.{Version}.nupkg");
            Assert.True(File.Exists(package), $"{package}: {string.Join(", ", Directory.GetFiles(feed))}");
            using var zip = ZipFile.OpenRead(package);
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
            using (var readme = new StreamReader(zip.GetEntry("README.md")!.Open()))
                Assert.StartsWith($"# {id}\n", await readme.ReadToEndAsync());
            var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal(Version, metadata.Element(ns + "version")!.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
            var deps = metadata.Descendants(ns + "dependency").ToDictionary(d => d.Attribute("id")!.Value, d => d.Attribute("version")!.Value);
            foreach (var dependency in dependencies) Assert.True(deps.ContainsKey(dependency), $"{id} does not depend on {dependency}");
            if (deps.TryGetValue("ActorMonitor.Celery", out var celery)) Assert.Equal(Version, celery);
        }
    }

    [Fact]
    public async Task The_Dockerfile_publish_line_gives_an_actormonitor_dll_that_runs()
    {
        // The build stage's own command, with its output folder here instead of /app.
        var line = File.ReadAllLines(Repo.Path("Dockerfile")).Select(l => l.Trim()).Single(l => l.StartsWith("RUN dotnet publish "));
        var args = line["RUN dotnet ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var app = Path.Combine(_tmp, "app");
        args[args.IndexOf("-o") + 1] = app;
        await DotnetAsync([.. args, "--artifacts-path", Artifacts, "-nologo"]);
        Assert.True(File.Exists(Path.Combine(app, "actormonitor.dll")));
        Assert.False(File.Exists(Path.Combine(app, "actormonitor")), "UseAppHost=false: the image runs `dotnet actormonitor.dll`");
        // The image's ENTRYPOINT, as the runtime stage runs it.
        var help = await RunAsync("dotnet", [Path.Combine(app, "actormonitor.dll"), "--help"], timeout: TimeSpan.FromMinutes(1));
        foreach (var command in new[] { "run", "replay", "health", "simulate" }) Assert.Contains($"\n  {command} ", help.Stdout + help.Stderr);
    }
}
