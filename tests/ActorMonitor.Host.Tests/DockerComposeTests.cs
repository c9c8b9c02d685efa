using System.Net;
using System.Text.RegularExpressions;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Tests.Shared;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// docker-compose.yml, the Dockerfile it builds and the `health` command its node health checks
/// run. No Docker engine is needed: the files are read as Compose reads them (YAML with merge
/// keys) and checked against what the node really accepts.
/// </summary>
public class DockerComposeTests
{
    private static readonly string[] Nodes = ["node1", "node2", "node3"];

    private static readonly Dictionary<string, object> Compose = LoadCompose();

    private static Dictionary<string, object> LoadCompose()
    {
        using var reader = new StringReader(File.ReadAllText(Repo.Path("docker-compose.yml")));
        // Compose resolves `<<: *anchor` merge keys; so does MergingParser.
        return new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(new MergingParser(new Parser(reader)));
    }

    private static Dictionary<object, object> Map(object? node, string what) =>
        node as Dictionary<object, object> ?? throw new Xunit.Sdk.XunitException($"{what} is not a mapping");

    private static Dictionary<object, object> Services => Map(Compose["services"], "services");

    private static Dictionary<object, object> Service(string name) => Map(Services[name], $"service {name}");

    /// <summary>A service's environment, in either of Compose's forms (mapping, or KEY=VALUE list).</summary>
    private static Dictionary<string, string> Env(string service)
    {
        if (!Service(service).TryGetValue("environment", out var env)) return [];
        return env switch
        {
            Dictionary<object, object> map => map.ToDictionary(kv => (string)kv.Key, kv => kv.Value?.ToString() ?? ""),
            List<object> list => list.Select(i => ((string)i).Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : ""),
            _ => throw new Xunit.Sdk.XunitException($"{service}: environment is neither a mapping nor a list"),
        };
    }

    private static List<string> Strings(object? node) => ((List<object>?)node ?? []).Select(o => (string)o).ToList();

    [Fact]
    public void The_eight_services_each_have_a_health_check()
    {
        Assert.False(Compose.ContainsKey("version"), "the compose spec needs no `version:`");
        Assert.Equal(["demo", "grafana", "node1", "node2", "node3", "postgres", "prometheus", "rabbitmq"], Services.Keys.Cast<string>().Order());
        foreach (var name in Services.Keys.Cast<string>())
        {
            var test = Strings(Map(Service(name).GetValueOrDefault("healthcheck"), $"{name}.healthcheck")["test"]);
            Assert.True(test.Count > 1 && test[0] is "CMD" or "CMD-SHELL", $"{name}: healthcheck test is {string.Join(' ', test)}");
        }
        Assert.Equal(["CMD", "pg_isready", "-U", "actormonitor"], Strings(Map(Service("postgres")["healthcheck"], "")["test"]).Take(4));
        Assert.Equal(["CMD", "rabbitmq-diagnostics", "-q", "ping"], Strings(Map(Service("rabbitmq")["healthcheck"], "")["test"]));
        foreach (var node in Nodes)
        {
            Assert.Equal(["CMD", "dotnet", "actormonitor.dll", "health"], Strings(Map(Service(node)["healthcheck"], "")["test"]));
            Assert.Equal("60s", Service(node)["stop_grace_period"]);
        }
    }

    [Fact]
    public void Nodes_wait_for_a_healthy_broker_and_database()
    {
        foreach (var node in Nodes)
        {
            var dependsOn = Map(Service(node)["depends_on"], $"{node}.depends_on");
            Assert.Equal(["postgres", "rabbitmq"], dependsOn.Keys.Cast<string>().Order());
            foreach (var (dependency, condition) in dependsOn)
                Assert.Equal("service_healthy", Map(condition, $"{node}.depends_on.{dependency}")["condition"]);
        }
    }

    [Fact]
    public void Nodes_are_built_from_the_repository_Dockerfile_whose_runtime_stage_runs_actormonitor()
    {
        foreach (var node in Nodes)
        {
            var spec = Service(node)["build"];
            var (context, dockerfile) = spec is string c ? (c, "Dockerfile")
                : ((string)Map(spec, "build")["context"], (string?)Map(spec, "build").GetValueOrDefault("dockerfile") ?? "Dockerfile");
            Assert.Equal(Repo.Root.TrimEnd('/'), Path.GetFullPath(Path.Combine(Repo.Root, context)).TrimEnd('/'));
            Assert.Equal(Repo.Path("Dockerfile"), Path.GetFullPath(Path.Combine(Repo.Root, context, dockerfile)));
        }

        // Stages: the lines from one FROM to the next (comments and blank lines left out).
        var stages = new List<List<string>>();
        foreach (var line in File.ReadAllLines(Repo.Path("Dockerfile")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            if (line.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase)) stages.Add([]);
            Assert.NotEmpty(stages); // nothing but comments before the first FROM
            stages[^1].Add(line);
        }
        Assert.Equal(3, stages.Count);
        var (dashboard, build, runtime) = (stages[0], stages[1], stages[2]);
        // The dashboard's charting library comes from the npm registry, as package-lock.json pins it.
        Assert.StartsWith("FROM node:", dashboard[0]);
        var dashboardStage = dashboard[0].Split(' ')[^1];
        Assert.Contains(dashboard, l => l.StartsWith("RUN npm ci"));
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS ", build[0]);
        var buildStage = build[0].Split(' ')[^1];
        Assert.Contains(build, l => l.StartsWith($"COPY --from={dashboardStage} ") && l.EndsWith(" src/ActorMonitor.Host/Http/DashboardVendor/node_modules"));
        Assert.Contains(build, l => l.StartsWith("RUN dotnet publish src/ActorMonitor.Host ") && l.Contains("-c Release"));
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0", runtime[0]);
        Assert.Contains(runtime, l => l.StartsWith($"COPY --from={buildStage} "));
        // What the container runs: ENTRYPOINT followed by CMD, as Docker joins them.
        var run = string.Join(' ', runtime.Where(l => l.StartsWith("ENTRYPOINT ") || l.StartsWith("CMD ")).Select(l => l[(l.IndexOf(' ') + 1)..]));
        Assert.Equal("[\"dotnet\", \"actormonitor.dll\"] [\"run\"]", run);
        // The files the build copies exist (the default HOCON is embedded at build time).
        foreach (var copied in new[] { "Directory.Build.props", "Directory.Packages.props", "hocon/actormonitor.conf", "src/ActorMonitor.Host/ActorMonitor.Host.csproj",
                     "src/ActorMonitor.Host/Http/DashboardVendor/package.json", "src/ActorMonitor.Host/Http/DashboardVendor/package-lock.json" })
            Assert.True(File.Exists(Repo.Path(copied)), copied);
    }

    [Fact]
    public void Dockerignore_leaves_out_build_output_local_data_and_history_but_not_the_sources()
    {
        var patterns = File.ReadAllLines(Repo.Path(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var expected in new[] { "bin/", "obj/", "**/bin/", "**/obj/", ".run/", "bench/.data", "*.db", ".git" })
            Assert.Contains(expected, patterns);
        foreach (var needed in new[] { "src", "hocon", "Directory.Build.props", "Directory.Packages.props", "Dockerfile" })
            Assert.DoesNotContain(patterns, p => p.TrimEnd('/') == needed || p == "*" || p == "**");
    }

    [Fact]
    public void Images_are_pinned_by_tag()
    {
        foreach (var name in Services.Keys.Cast<string>())
        {
            var image = (string)Service(name)["image"];
            var tag = image.Contains(':') ? image[(image.LastIndexOf(':') + 1)..] : "";
            Assert.True(tag.Length > 0 && tag != "latest", $"{name}: image {image} is not pinned by a tag");
        }
        // Pinned to a release, not a moving major version.
        Assert.Matches(@"^prom/prometheus:v\d+\.\d+\.\d+$", (string)Service("prometheus")["image"]);
        Assert.Matches(@"^grafana/grafana:\d+\.\d+\.\d+$", (string)Service("grafana")["image"]);
        // The demo runs the node image, built from the repository as the nodes are.
        Assert.Equal(Service("node1")["image"], Service("demo")["image"]);
        Assert.Equal(Map(Service("node1")["build"], "build")["context"], Map(Service("demo")["build"], "build")["context"]);
    }

    /// <summary>A service's bind mounts: (file or folder in the repository, path in the container).</summary>
    private static List<(string Source, string Target)> Binds(string service) =>
        Strings(Service(service).GetValueOrDefault("volumes")).Where(v => v.StartsWith("./")).Select(v => v.Split(':'))
            .Select(p => (Path.GetFullPath(Path.Combine(Repo.Root, p[0])), p[1])).ToList();

    [Fact]
    public void Prometheus_scrapes_every_node_where_it_serves_metrics()
    {
        var (source, target) = Assert.Single(Binds("prometheus"));
        Assert.Equal((Repo.Path("deploy", "prometheus", "prometheus.yml"), "/etc/prometheus/prometheus.yml"), (source, target));
        var config = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(File.ReadAllText(source));
        var job = (Dictionary<object, object>)Assert.Single((List<object>)config["scrape_configs"]);
        Assert.Equal("/metrics", job["metrics_path"]);
        var targets = Strings(((Dictionary<object, object>)Assert.Single((List<object>)job["static_configs"]))["targets"]);
        // Each node's service name and the port its ACTORMONITOR_HTTP binds inside the compose network.
        Assert.Equal(Nodes.Select(n => $"{n}:{Env(n)["ACTORMONITOR_HTTP"].Split(':')[1]}"), targets);
        foreach (var node in Nodes)
            Assert.Equal("service_healthy", Map(Map(Service("prometheus")["depends_on"], "depends_on")[node], node)["condition"]);
        // /metrics is open to Prometheus: the nodes require no credentials on the compose network.
        Assert.All(Nodes, n => Assert.Equal("true", Env(n)["ACTORMONITOR_HTTP_INSECURE_NO_AUTH"]));
    }

    [Fact]
    public void Grafana_is_provisioned_with_the_prometheus_service_and_the_dashboard()
    {
        var binds = Binds("grafana").ToDictionary(b => b.Target, b => b.Source);
        Assert.Equal(Repo.Path("deploy", "grafana", "provisioning"), binds["/etc/grafana/provisioning"]);
        var yaml = new DeserializerBuilder().Build();
        var provider = (Dictionary<object, object>)Assert.Single((List<object>)yaml.Deserialize<Dictionary<string, object>>(
            File.ReadAllText(Repo.Path("deploy", "grafana", "provisioning", "dashboards", "actormonitor.yml")))["providers"]);
        var dashboards = (string)((Dictionary<object, object>)provider["options"])["path"];
        Assert.Equal(Repo.Path("deploy", "grafana", "dashboards"), binds[dashboards]);
        Assert.True(File.Exists(Path.Combine(binds[dashboards], "actormonitor.json")));
        Assert.Equal(Path.Combine(dashboards, "actormonitor.json"), Env("grafana")["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]);

        var ds = (Dictionary<object, object>)Assert.Single((List<object>)yaml.Deserialize<Dictionary<string, object>>(
            File.ReadAllText(Repo.Path("deploy", "grafana", "provisioning", "datasources", "prometheus.yml")))["datasources"]);
        var url = new Uri((string)ds["url"]);
        Assert.True(Services.ContainsKey(url.Host), $"datasource {url}: no service {url.Host}");
        Assert.EndsWith($":{url.Port}", Strings(Service(url.Host)["ports"]).Single());
        Assert.Equal("service_healthy", Map(Map(Service("grafana")["depends_on"], "depends_on")[url.Host], url.Host)["condition"]);
    }

    [Fact]
    public async Task The_demo_simulates_a_fleet_on_the_compose_broker_once_a_node_is_up()
    {
        Assert.Equal("service_healthy", Map(Map(Service("demo")["depends_on"], "depends_on")["node1"], "node1")["condition"]);
        Assert.Equal(Env("node1")["ACTORMONITOR_BROKER"], Env("demo")["ACTORMONITOR_BROKER"]);
        Assert.Equal("unless-stopped", Service("demo")["restart"]);
        var command = Strings(Service("demo")["command"]);
        Assert.Equal("simulate", command[0]);
        // The command line is one `actormonitor simulate` accepts: it gets as far as the broker.
        var r = await Cli.RunAsync([.. command, "--broker", $"amqp://guest:guest@127.0.0.1:{Repo.FreePort()}//"]);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("actormonitor: cannot reach broker", r.Stderr.Trim());
    }

    [Fact]
    public async Task Every_ACTORMONITOR_variable_in_the_file_is_one_actormonitor_run_knows()
    {
        var help = await Cli.RunAsync("run", "--help");
        Assert.Equal(0, help.ExitCode);
        var known = Regex.Matches(help.Stdout + help.Stderr, @"\[env\s+(ACTORMONITOR_[A-Z_]+)\]").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Contains("ACTORMONITOR_SEED_NODES", known); // the help text lists them at all
        Assert.Contains("ACTORMONITOR_CONFIG", known);

        var used = Services.Keys.Cast<string>().SelectMany(s => Env(s).Keys.Select(k => (Service: s, Key: k)))
            .Where(u => u.Key.StartsWith("ACTORMONITOR_")).ToList();
        Assert.NotEmpty(used);
        Assert.All(used, u => Assert.True(known.Contains(u.Key), $"{u.Service}: {u.Key} is not an `actormonitor run` variable"));
        // Every node is told everything a cluster member in a container needs.
        foreach (var node in Nodes)
            foreach (var key in new[] { "ACTORMONITOR_BROKER", "ACTORMONITOR_JOURNAL", "ACTORMONITOR_NODE_NAME", "ACTORMONITOR_NODE_ID", "ACTORMONITOR_HTTP",
                         "ACTORMONITOR_AKKA_HOST", "ACTORMONITOR_AKKA_PUBLIC_HOST", "ACTORMONITOR_AKKA_PORT", "ACTORMONITOR_SEED_NODES" })
                Assert.True(Env(node).ContainsKey(key), $"{node} lacks {key}");
    }

    [Fact]
    public void Node_names_are_unique_and_they_share_one_queue_broker_and_journal()
    {
        Assert.Equal(Nodes.Length, Nodes.Select(n => Env(n)["ACTORMONITOR_NODE_NAME"]).Distinct().Count());
        foreach (var shared in new[] { "ACTORMONITOR_NODE_ID", "ACTORMONITOR_BROKER", "ACTORMONITOR_JOURNAL" })
        {
            var value = Assert.Single(Nodes.Select(n => Env(n)[shared]).Distinct());
            Assert.False(string.IsNullOrWhiteSpace(value), shared);
        }

        // The broker URL names the rabbitmq service with the user it creates, Celery's default vhost.
        var rabbit = Env("rabbitmq");
        var broker = new Uri(Env("node1")["ACTORMONITOR_BROKER"]);
        Assert.Equal(("amqp", "rabbitmq", 5672, "//"), (broker.Scheme, broker.Host, broker.Port, broker.AbsolutePath));
        Assert.Equal($"{rabbit["RABBITMQ_DEFAULT_USER"]}:{rabbit["RABBITMQ_DEFAULT_PASS"]}", broker.UserInfo);

        // The journal is the postgres service, with the role and database that service creates.
        var journal = Env("node1")["ACTORMONITOR_JOURNAL"];
        Assert.StartsWith("postgres:", journal);
        var cs = journal["postgres:".Length..].Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var pg = Env("postgres");
        Assert.Equal("postgres", cs["Host"]);
        Assert.Equal("5432", cs["Port"]);
        Assert.Equal(pg["POSTGRES_USER"], cs["Username"]);
        Assert.Equal(pg["POSTGRES_PASSWORD"], cs["Password"]);
        Assert.Equal(pg["POSTGRES_DB"], cs["Database"]);
    }

    [Fact]
    public void Seed_nodes_are_services_of_the_file_at_their_public_host_and_port()
    {
        var clusterName = MonitorConfig.Default.GetString("actormonitor.cluster-name");
        foreach (var node in Nodes)
        {
            var env = Env(node);
            // Other nodes reach this one by its service name, the address it announces.
            Assert.Equal(node, env["ACTORMONITOR_AKKA_PUBLIC_HOST"]);
            Assert.Equal("0.0.0.0", env["ACTORMONITOR_AKKA_HOST"]);
            Assert.True(int.Parse(env["ACTORMONITOR_AKKA_PORT"]) > 0, $"{node}: a fixed cluster port, not 0");

            var seeds = env["ACTORMONITOR_SEED_NODES"].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            Assert.InRange(seeds.Length, 2, Nodes.Length);
            foreach (var seed in seeds)
            {
                var address = new Uri(seed);
                Assert.Equal(("akka.tcp", clusterName), (address.Scheme, address.UserInfo));
                Assert.True(Services.ContainsKey(address.Host), $"seed {seed}: no service {address.Host}");
                var target = Env(address.Host);
                Assert.Equal(address.Host, target["ACTORMONITOR_AKKA_PUBLIC_HOST"]);
                Assert.Equal(address.Port.ToString(), target["ACTORMONITOR_AKKA_PORT"]);
            }
        }
    }

    [Fact]
    public void Published_ports_are_on_the_loopback_only_and_node_HTTP_is_where_its_health_check_asks()
    {
        var hostPorts = new List<string>();
        foreach (var name in Services.Keys.Cast<string>())
            foreach (var port in Strings(Service(name).GetValueOrDefault("ports")))
            {
                var parts = port.Split(':');
                Assert.True(parts.Length == 3 && parts[0] == "127.0.0.1", $"{name}: port {port} is not published on 127.0.0.1 only");
                hostPorts.Add(parts[1]);
            }
        Assert.Equal(hostPorts.Count, hostPorts.Distinct().Count());

        foreach (var node in Nodes)
        {
            // Inside its container a node listens on every interface, on the port `health` asks by default.
            Assert.Equal("0.0.0.0:5555", Env(node)["ACTORMONITOR_HTTP"]);
            var published = Assert.Single(Strings(Service(node)["ports"]));
            Assert.EndsWith(":5555", published);
        }
        Assert.Equal(["5555", "5556", "5557"], Nodes.Select(n => Strings(Service(n)["ports"])[0].Split(':')[1]));
    }

    [Fact]
    public async Task Health_against_a_port_where_nothing_listens_is_exit_2_and_one_line()
    {
        var url = $"http://127.0.0.1:{Repo.FreePort()}";
        var r = await Cli.RunAsync("health", "--url", url);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"actormonitor: cannot reach node at {url}: ", line);
    }

    [Theory]
    [InlineData(200, "OK cluster: Up; broker: connected; journal: writable", 0)]
    [InlineData(503, "FAIL cluster: Joining; broker: connected; journal: writable", 1)]
    public async Task Health_is_the_node_answer_as_an_exit_code(int status, string body, int exitCode)
    {
        var port = Repo.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var served = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            var path = context.Request.Url!.AbsolutePath;
            context.Response.StatusCode = path == "/healthcheck" ? status : 404;
            await context.Response.OutputStream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(body));
            context.Response.Close();
            return path;
        });

        var r = await Cli.RunAsync("health", "--url", $"http://127.0.0.1:{port}/");
        Assert.Equal("/healthcheck", await served);
        Assert.Equal(exitCode, r.ExitCode);
        if (exitCode == 0)
        {
            Assert.Equal(body + "\n", r.Stdout);
        }
        else
        {
            Assert.Equal("", r.Stdout);
            Assert.Contains($"unhealthy (503): {body}", r.Stderr);
        }
    }
}
