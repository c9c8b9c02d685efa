using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace ActorMonitor.Host;

/// <summary>
/// The options of a node (run) and of the broker commands. Each maps to a HOCON key; a flag wins
/// over its environment variable, which wins over hocon/actormonitor.conf.
/// </summary>
public sealed class NodeOptions
{
    private sealed record Mapping(Option<string?> Option, string EnvVar, string HoconPath, Func<string, string> ToHocon);

    private sealed record FlagMapping(Option<bool> Option, string EnvVar, string HoconPath);

    private readonly List<Mapping> _mappings = [];
    private readonly List<FlagMapping> _flags = [];

    public NodeOptions(bool node, bool stateOnly = false)
    {
        if (node || stateOnly)
        {
            Add("--journal", "ACTORMONITOR_JOURNAL", "actormonitor.journal", Quoted,
                "where state lives: memory, sqlite:PATH or postgres:CONNECTION_STRING (default: " + (stateOnly ? "memory" : "sqlite:actormonitor.db") + ")");
            Add("--node-name", "ACTORMONITOR_NODE_NAME", "actormonitor.node-name", Quoted, "this node's stable, unique name: it names its checkpoint journal (default node-1)");
            Add("--max-tasks-in-memory", "ACTORMONITOR_MAX_TASKS_IN_MEMORY", "actormonitor.state.max-tasks-in-memory", Integer, "tasks held in memory per node before the least recently used passivate (default 10000)");
            Add("--max-workers-in-memory", "ACTORMONITOR_MAX_WORKERS_IN_MEMORY", "actormonitor.state.max-workers-in-memory", Integer, "live worker entities per node (default 5000)");
        }
        Broker = Add("--broker", "ACTORMONITOR_BROKER", "actormonitor.broker.url", Quoted, "broker URL (default amqp://guest:guest@127.0.0.1:5672//)");
        if (!node) return;
        Add("--gc-heap-limit", "ACTORMONITOR_GC_HEAP_LIMIT", "actormonitor.memory.gc-heap-limit", Quoted,
            "hard limit of the managed heap: auto (from the entity limits and the prefetch; none on the memory journal), off, or a size such as 512MiB (default auto)");
        Add("--node-id", "ACTORMONITOR_NODE_ID", "actormonitor.event-queue.node-id", Quoted, "shared event queue <prefix>.<node-id> (default: the cluster's name, actormonitor)");
        Add("--http", "ACTORMONITOR_HTTP", "actormonitor.http.address", Quoted, "HTTP endpoint host:port (default 127.0.0.1:5555); any other than loopback needs credentials or --insecure-no-auth");
        // Only the paths of credential files go through HOCON: the secrets themselves are read from
        // the environment or the file by HttpSecurity, so no configuration text ever carries them.
        Add("--http-token-file", "ACTORMONITOR_HTTP_TOKEN_FILE", "actormonitor.http.token-file", Quoted,
            "file holding the bearer token every HTTP route but /healthcheck requires (or the token itself in env ACTORMONITOR_HTTP_TOKEN)");
        Add("--http-basic-file", "ACTORMONITOR_HTTP_BASIC_FILE", "actormonitor.http.basic-file", Quoted,
            "file holding USER:PASSWORD for HTTP basic auth (or the pair itself in env ACTORMONITOR_HTTP_BASIC)");
        Add("--http-allowed-hosts", "ACTORMONITOR_HTTP_ALLOWED_HOSTS", "actormonitor.http.allowed-hosts", SeedList,
            "comma-separated host names requests may address beside those the endpoint is bound to (a proxy's or a DNS name; * for any)");
        AddFlag("--read-only", "ACTORMONITOR_HTTP_READ_ONLY", "actormonitor.http.read-only", "refuse the HTTP routes that change the cluster (leave, down) or the workers (control) with 403");
        AddFlag("--allow-control-without-credentials", "ACTORMONITOR_HTTP_CONTROL_WITHOUT_CREDENTIALS", "actormonitor.http.control-without-credentials",
            "serve Celery's remote control (shutdown, revoke, pool, queues, send tasks) to clients without credentials; refused with 403 otherwise when no credentials are configured");
        AddFlag("--insecure-no-auth", "ACTORMONITOR_HTTP_INSECURE_NO_AUTH", "actormonitor.http.insecure-no-auth",
            "serve HTTP on a non-loopback address without credentials (anyone who reaches it can read the state and make nodes leave)");
        Add("--akka-host", "ACTORMONITOR_AKKA_HOST", "akka.remote.dot-netty.tcp.hostname", Quoted, "address the cluster reaches this node at (default 127.0.0.1)");
        Add("--akka-public-host", "ACTORMONITOR_AKKA_PUBLIC_HOST", "akka.remote.dot-netty.tcp.public-hostname", Quoted, "address other nodes use for this one when it differs from --akka-host (a container's service name)");
        Add("--akka-port", "ACTORMONITOR_AKKA_PORT", "akka.remote.dot-netty.tcp.port", Integer, "cluster port (default 0: any free port)");
        Add("--seed-nodes", "ACTORMONITOR_SEED_NODES", "akka.cluster.seed-nodes", SeedList, "comma-separated akka.tcp://actormonitor@host:port addresses (default: none, this node forms the cluster)");
        Add("--event-queue-prefix", "ACTORMONITOR_EVENT_QUEUE_PREFIX", "actormonitor.event-queue.prefix", Quoted, "event queue prefix (Celery's event_queue_prefix, default celeryev)");
        Add("--event-queue-ttl", "ACTORMONITOR_EVENT_QUEUE_TTL", "actormonitor.event-queue.ttl", Quoted, "seconds before a waiting message expires, or off (Celery: 5.0; default off)");
        Add("--event-queue-expires", "ACTORMONITOR_EVENT_QUEUE_EXPIRES", "actormonitor.event-queue.expires", Quoted, "seconds an unused queue lives (Celery's event_queue_expires, default 60)");
        Add("--event-queue-durable", "ACTORMONITOR_EVENT_QUEUE_DURABLE", "actormonitor.event-queue.durable", Boolean, "true|false (Celery's event_queue_durable, default false)");
        Add("--event-queue-exclusive", "ACTORMONITOR_EVENT_QUEUE_EXCLUSIVE", "actormonitor.event-queue.exclusive", Boolean, "true|false (Celery's event_queue_exclusive, default false)");
        Add("--event-queue-max-length", "ACTORMONITOR_EVENT_QUEUE_MAX_LENGTH", "actormonitor.event-queue.max-length", Integer, "messages kept before the oldest overflow (counted), default 2000000");
    }

    public Option<string?> Broker { get; }

    public Option<string?> Config { get; } = new("--config") { Description = "extra HOCON text that overrides every other setting [env ACTORMONITOR_CONFIG]" };

    public IEnumerable<Option> All => _mappings.Select(m => (Option)m.Option).Concat(_flags.Select(f => f.Option)).Append(Config);

    /// <summary>HOCON text for the overrides, lowest precedence first (later lines win).</summary>
    public string Hocon(ParseResult parse)
    {
        var sb = new StringBuilder();
        foreach (var m in _mappings)
            if (Environment.GetEnvironmentVariable(m.EnvVar) is { Length: > 0 } env) sb.AppendLine($"{m.HoconPath} = {m.ToHocon(env)}");
        foreach (var f in _flags)
            if (Environment.GetEnvironmentVariable(f.EnvVar) is { Length: > 0 } env) sb.AppendLine($"{f.HoconPath} = {Boolean(env)}");
        foreach (var m in _mappings)
            if (parse.GetValue(m.Option) is { } flag) sb.AppendLine($"{m.HoconPath} = {m.ToHocon(flag)}");
        foreach (var f in _flags)
            if (parse.GetValue(f.Option)) sb.AppendLine($"{f.HoconPath} = on");
        // --log-level (or its variable, or the command's default) is Akka's level too; --config may still set another.
        sb.AppendLine($"akka.loglevel = {CliLog.AkkaLevel(CliLog.Resolve(parse, Environment.GetEnvironmentVariable(CliLog.EnvVar)))}");
        if (Environment.GetEnvironmentVariable("ACTORMONITOR_CONFIG") is { Length: > 0 } extraEnv) sb.AppendLine(extraEnv);
        if (parse.GetValue(Config) is { } extra) sb.AppendLine(extra);
        return sb.ToString();
    }

    private Option<string?> Add(string name, string env, string path, Func<string, string> toHocon, string description)
    {
        var option = new Option<string?>(name) { Description = $"{description} [env {env}]" };
        _mappings.Add(new Mapping(option, env, path, toHocon));
        return option;
    }

    /// <summary>A switch without a value; its variable takes true|false.</summary>
    private void AddFlag(string name, string env, string path, string description)
    {
        var option = new Option<bool>(name) { Description = $"{description} [env {env}]" };
        _flags.Add(new FlagMapping(option, env, path));
    }

    private static string Quoted(string value) => JsonSerializer.Serialize(value);

    private static string Integer(string value) =>
        long.TryParse(value, out var n) ? n.ToString() : throw new FormatException($"'{value}' is not an integer");

    private static string Boolean(string value) => value.ToLowerInvariant() switch
    {
        "true" or "on" or "yes" or "1" => "on",
        "false" or "off" or "no" or "0" => "off",
        _ => throw new FormatException($"'{value}' is not true or false"),
    };

    private static string SeedList(string value) =>
        "[" + string.Join(", ", value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Quoted)) + "]";
}
