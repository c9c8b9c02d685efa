using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ActorMonitor.Cluster.Hosting;
using ActorMonitor.Host.Http;
using ActorMonitor.Tests.Shared;

namespace ActorMonitor.Host.Tests;

/// <summary>
/// The HTTP endpoint's protection (docs/operations.md, "Security"): a node reachable from other machines
/// refuses to start without credentials; with them, every route but /healthcheck needs them;
/// read-only mode refuses leave and down; over-long query strings get a clear 400; the secret
/// never shows in any output. Nodes here have no broker (they serve HTTP all the same).
/// </summary>
public sealed class HttpSecurityTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task A_non_loopback_endpoint_without_credentials_is_refused_with_exit_2_before_anything_starts()
    {
        var port = Repo.FreePort();
        var refused = await Cli.RunAsync("run", "--broker", ClosedBroker(), "--journal", "memory", "--http", $"0.0.0.0:{port}");
        Assert.Equal(2, refused.ExitCode);
        var line = Assert.Single(refused.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("no credentials", line);
        Assert.Contains("ACTORMONITOR_HTTP_TOKEN", line);
        Assert.Contains("--insecure-no-auth", line);

        // A credentials file that cannot be read, an empty one, basic credentials that are not USER:PASSWORD.
        var missing = await Cli.RunAsync("run", "--broker", ClosedBroker(), "--journal", "memory", "--http", $"0.0.0.0:{port}",
            "--http-token-file", "/nonexistent/token");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--http-token-file /nonexistent/token: cannot read it", missing.Stderr);
        var empty = Path.GetTempFileName();
        try
        {
            var blank = await Cli.RunAsync("run", "--broker", ClosedBroker(), "--journal", "memory", "--http", $"0.0.0.0:{port}", "--http-token-file", empty);
            Assert.Equal(2, blank.ExitCode);
            Assert.Contains("the file is empty", blank.Stderr);
        }
        finally
        {
            File.Delete(empty);
        }
        var badBasic = await Cli.RunWithEnvAsync(new Dictionary<string, string> { ["ACTORMONITOR_HTTP_BASIC"] = "no-colon-secret" },
            "run", "--broker", ClosedBroker(), "--journal", "memory", "--http", $"0.0.0.0:{port}");
        Assert.Equal(2, badBasic.ExitCode);
        Assert.Contains("USER:PASSWORD", badBasic.Stderr);
        Assert.DoesNotContain("no-colon-secret", badBasic.Stderr);
    }

    [Fact]
    public async Task With_a_token_every_route_but_the_health_check_needs_it_and_the_token_is_never_printed()
    {
        var token = "tok-" + Guid.NewGuid().ToString("N");
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, token + "\n");
        try
        {
            // Any address but loopback, with a token from a file: accepted.
            await using var node = await BareNode.StartAsync("0.0.0.0", null, "--http-token-file", file);

            using (var health = await Http.GetAsync(node.Url + "/healthcheck"))
                Assert.NotEqual(HttpStatusCode.Unauthorized, health.StatusCode); // open (503 here: no broker)

            using (var anonymous = await Http.GetAsync(node.Url + "/api/stats"))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
                Assert.Contains(anonymous.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
            }
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(HttpMethod.Get, node.Url + "/api/cluster", new AuthenticationHeaderValue("Bearer", token + "x")));
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(HttpMethod.Get, node.Url + "/api/cluster", new AuthenticationHeaderValue("Basic", Base64("a:" + token))));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(HttpMethod.Get, node.Url + "/api/cluster", new AuthenticationHeaderValue("Bearer", token)));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(HttpMethod.Get, node.Url + "/api/stats", new AuthenticationHeaderValue("Bearer", token)));

            // The command line: without the token one clear line and exit 2; with it (flag or variable) the answer.
            var without = await Cli.RunAsync("cmd", "--url", node.Url, "cluster", "show");
            Assert.Equal(2, without.ExitCode);
            Assert.Contains("requires credentials", without.Stderr);
            var wrong = await Cli.RunAsync("cmd", "--url", node.Url, "cluster", "show", "--token", "not-it");
            Assert.Equal(2, wrong.ExitCode);
            Assert.Contains("refused the credentials", wrong.Stderr);
            var flag = await Cli.RunAsync("cmd", "--url", node.Url, "cluster", "show", "--token", token);
            Assert.Equal(0, flag.ExitCode);
            Assert.Contains(" Up ", flag.Stdout);
            var variable = await Cli.RunWithEnvAsync(new Dictionary<string, string> { ["ACTORMONITOR_HTTP_TOKEN"] = token },
                "cmd", "--url", node.Url, "cluster", "show", "--json");
            Assert.Equal(0, variable.ExitCode);
            using (var json = JsonDocument.Parse(variable.Stdout))
                Assert.Equal("Up", json.RootElement.GetProperty("members")[0].GetProperty("status").GetString());
            // `state` too: past the credentials, an unknown task is exit 3.
            Assert.Equal(2, (await Cli.RunAsync("state", "--url", node.Url, "--task", "no-such-task")).ExitCode);
            Assert.Equal(3, (await Cli.RunAsync("state", "--url", node.Url, "--task", "no-such-task", "--token", token)).ExitCode);

            // A query string over actormonitor.http.max-query-string: 400 with the reason.
            using (var request = new HttpRequestMessage(HttpMethod.Get, node.Url + "/api/state?as_of=1&pad=" + new string('x', 3000)))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var tooLong = await Http.SendAsync(request);
                Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
                Assert.Contains("query string too long", await tooLong.Content.ReadAsStringAsync());
            }

            foreach (var output in new[] { without.Stderr, wrong.Stderr, flag.Stderr, flag.Stdout, variable.Stderr, node.Process.Stderr, node.Process.Stdout })
                Assert.DoesNotContain(token, output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Read_only_refuses_leave_and_down_with_403_after_checking_credentials()
    {
        var basic = "ops:" + Guid.NewGuid().ToString("N");
        await using var node = await BareNode.StartAsync("127.0.0.1", new Dictionary<string, string> { ["ACTORMONITOR_HTTP_BASIC"] = basic }, "--read-only");
        var auth = new AuthenticationHeaderValue("Basic", Base64(basic));

        using var request = new HttpRequestMessage(HttpMethod.Get, node.Url + "/api/cluster") { Headers = { Authorization = auth } };
        using var cluster = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, cluster.StatusCode);
        using var doc = JsonDocument.Parse(await cluster.Content.ReadAsStringAsync());
        var self = doc.RootElement.GetProperty("self").GetString()!;

        var leave = $"{node.Url}/api/cluster/leave?address={Uri.EscapeDataString(self)}";
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(HttpMethod.Post, leave, null));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(HttpMethod.Post, leave, auth));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(HttpMethod.Post, $"{node.Url}/api/cluster/down?address={Uri.EscapeDataString(self)}", auth));

        foreach (var action in new[] { "leave", "down" })
        {
            var refused = await Cli.RunAsync("cmd", "--url", node.Url, "--basic", basic, "cluster", action, self);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("read-only", refused.Stderr);
        }
        // Still a member, Up: nothing was changed.
        var show = await Cli.RunAsync("cmd", "--url", node.Url, "--basic", basic, "cluster", "show", "--json");
        Assert.Equal(0, show.ExitCode);
        using var after = JsonDocument.Parse(show.Stdout);
        Assert.Equal("Up", after.RootElement.GetProperty("members")[0].GetProperty("status").GetString());
        Assert.DoesNotContain(basic, node.Process.Stderr);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_default_node_refuses_other_sites_and_other_host_names_and_takes_changes_with_its_key()
    {
        var keys = Directory.CreateTempSubdirectory("am-keys-").FullName;
        var env = new Dictionary<string, string> { [NodeKey.DirectoryVariable] = keys };
        try
        {
            await using var node = await BareNode.StartAsync("127.0.0.1", env);
            var port = new Uri(node.Url).Port;
            var keyFile = Path.Combine(keys, $"http-{port}.key");
            Assert.True(File.Exists(keyFile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            var key = (await File.ReadAllTextAsync(keyFile)).Trim();
            using var cluster = JsonDocument.Parse(await Http.GetStringAsync(node.Url + "/api/cluster"));
            var self = cluster.RootElement.GetProperty("self").GetString()!;
            var leave = $"{node.Url}/api/cluster/leave?address={Uri.EscapeDataString(self)}";

            // The probe's request: a page of another site, a "simple" request a browser sends without a preflight.
            var evil = await SendAsync(HttpMethod.Post, leave, new StringContent("{}", Encoding.UTF8, "text/plain"), ("Origin", "http://evil.example"));
            Assert.Equal(HttpStatusCode.Forbidden, evil.Status);
            Assert.Contains("another origin", evil.Body);
            Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Post, leave, null, ("Sec-Fetch-Site", "cross-site"))).Status);
            // No Origin: a text or form body is still not JSON; without one, the key is missing.
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await SendAsync(HttpMethod.Post, leave, new StringContent("{}", Encoding.UTF8, "text/plain"))).Status);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType,
                (await SendAsync(HttpMethod.Post, leave, new FormUrlEncodedContent([new("address", self)]), (NodeKey.Header, key))).Status);
            var keyless = await SendAsync(HttpMethod.Post, leave, new StringContent("{}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Forbidden, keyless.Status);
            Assert.Contains(NodeKey.Header, keyless.Body);
            Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Post, leave, null, (NodeKey.Header, key + "0"))).Status);

            // A DNS-rebinding page addresses the node by its own name: refused on every route, reads too.
            Assert.Equal((HttpStatusCode)421, (await SendAsync(HttpMethod.Get, node.Url + "/api/state", null, ("Host", "evil.example"))).Status);
            Assert.Equal((HttpStatusCode)421, (await SendAsync(HttpMethod.Get, node.Url + "/", null, ("Host", $"evil.example:{port}"))).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, node.Url + "/api/cluster", null, ("Host", $"localhost:{port}"))).Status);

            // The node's own page (same origin) and a client with the key pass the checks (an unknown member: 404 from the route).
            var down = $"{node.Url}/api/cluster/down?address={Uri.EscapeDataString("akka.tcp://actormonitor@127.0.0.1:1")}";
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Post, down, null, ("Origin", node.Url))).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Post, down, null, (NodeKey.Header, key))).Status);

            // Still Up after all that; `cmd` reads the key and the leave goes through.
            using (var still = JsonDocument.Parse(await Http.GetStringAsync(node.Url + "/api/cluster")))
                Assert.Equal("Up", still.RootElement.GetProperty("members")[0].GetProperty("status").GetString());
            var left = await Cli.RunWithEnvAsync(env, "cmd", "--url", node.Url, "cluster", "leave", self);
            Assert.Equal(0, left.ExitCode);
            Assert.Equal(0, await node.Process.TerminateAfterExitAsync(TimeSpan.FromSeconds(60)));
            Assert.False(File.Exists(keyFile)); // removed at exit
        }
        finally
        {
            Directory.Delete(keys, recursive: true);
        }
    }

    [Fact]
    public void Cmd_sends_a_local_nodes_key_to_loopback_urls_only()
    {
        static string? Key(int port) => port == 5999 ? "k-5999" : null;
        foreach (var (url, sent) in new[] { ("http://127.0.0.1:5999", true), ("http://localhost:5999", true), ("http://[::1]:5999", true),
                     ("http://monitor.example:5999", false), ("http://10.0.0.5:5999", false), ("http://127.0.0.1:6000", false) })
        {
            using var http = new HttpClient();
            Commands.Cmd.NodeClient.SendKey(http, url, Key);
            Assert.True(sent == (http.DefaultRequestHeaders.TryGetValues(NodeKey.Header, out var v) && v.Single() == "k-5999"), url);
        }
    }

    [Theory]
    [InlineData("127.0.0.1:5555", "127.0.0.1", true)]
    [InlineData("127.0.0.1:5555", "localhost", true)]
    [InlineData("127.0.0.1:5555", "::1", true)]
    [InlineData("127.0.0.1:5555", "evil.example", false)]
    [InlineData("127.0.0.1:5555", "10.0.0.5", false)]
    [InlineData("0.0.0.0:5555", "10.0.0.5", true)]
    [InlineData("0.0.0.0:5555", "node1", true)]
    [InlineData("0.0.0.0:5555", "evil.example", false)]
    [InlineData("monitor.example:5555", "monitor.example", true)]
    [InlineData("monitor.example:5555", "localhost", false)]
    public void Host_names_are_those_of_the_bound_address_and_the_public_host(string address, string host, bool accepted) =>
        Assert.Equal(accepted, HostNames.For(address, [], publicHost: "node1").Accepts(host));

    [Fact]
    public void Configured_host_names_are_accepted_too_and_a_star_accepts_any() =>
        Assert.Equal((true, false, true),
            (HostNames.For("127.0.0.1:5555", ["monitor.internal"]).Accepts("monitor.internal"),
             HostNames.For("127.0.0.1:5555", ["monitor.internal"]).Accepts("evil.example"),
             HostNames.For("127.0.0.1:5555", ["*"]).Accepts("evil.example")));

    [Theory]
    [InlineData("127.0.0.1:5555", true)]
    [InlineData("127.1.2.3:80", true)]
    [InlineData("localhost:5555", true)]
    [InlineData("[::1]:5555", true)]
    [InlineData("0.0.0.0:5555", false)]
    [InlineData("[::]:5555", false)]
    [InlineData("*:5555", false)]
    [InlineData("10.0.0.5:5555", false)]
    [InlineData("monitor.example:5555", false)]
    public void Only_loopback_addresses_count_as_loopback(string address, bool loopback) =>
        Assert.Equal(loopback, HttpSecuritySettings.IsLoopback(address));

    [Fact]
    public void Settings_read_the_configuration_and_the_environment_and_never_show_the_secrets()
    {
        var none = new Dictionary<string, string?>();
        Assert.Throws<HttpSecurityException>(() => HttpSecuritySettings.Load(MonitorConfig.With(""), "0.0.0.0:5555", none.GetValueOrDefault));
        var insecure = HttpSecuritySettings.Load(MonitorConfig.With("actormonitor.http.insecure-no-auth = on"), "0.0.0.0:5555", none.GetValueOrDefault);
        Assert.False(insecure.RequiresCredentials);
        Assert.True(insecure.Accepts(null));

        var env = new Dictionary<string, string?> { [HttpSecuritySettings.TokenVariable] = "s3cret" };
        var settings = HttpSecuritySettings.Load(MonitorConfig.With("actormonitor.http.read-only = on"), "0.0.0.0:5555", env.GetValueOrDefault);
        Assert.True(settings.ReadOnly);
        Assert.True(settings.Accepts("Bearer s3cret"));
        Assert.True(settings.Accepts("bearer  s3cret"));
        Assert.False(settings.Accepts("Bearer s3cre"));
        Assert.False(settings.Accepts("Basic " + Base64("user:s3cret")));
        Assert.False(settings.Accepts(null));
        Assert.DoesNotContain("s3cret", settings.ToString());
        Assert.Equal((8192, 2048), (settings.MaxRequestLine, settings.MaxQueryString));

        env[HttpSecuritySettings.TokenVariable] = "  ";
        Assert.Throws<HttpSecurityException>(() => HttpSecuritySettings.Load(MonitorConfig.With(""), "127.0.0.1:5555", env.GetValueOrDefault));
    }

    private static string ClosedBroker() => $"amqp://guest:guest@127.0.0.1:{Repo.FreePort()}//";

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string url, HttpContent? content, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        foreach (var (name, value) in headers)
            if (name == "Host") request.Headers.Host = value;
            else request.Headers.TryAddWithoutValidation(name, value);
        using var response = await Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpMethod method, string url, AuthenticationHeaderValue? auth)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = auth;
        using var response = await Http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>An `actormonitor run` process without a broker: its HTTP endpoint serves all the same.</summary>
    private sealed class BareNode : IAsyncDisposable
    {
        private BareNode(ChildProcess process, string url) => (Process, Url) = (process, url);

        public ChildProcess Process { get; }
        public string Url { get; }

        public static async Task<BareNode> StartAsync(string host, IDictionary<string, string>? env, params string[] extra)
        {
            var port = Repo.FreePort();
            var process = ChildProcess.Start("node", "dotnet",
                [Path.Combine(AppContext.BaseDirectory, "actormonitor.dll"), "run", "--broker", ClosedBroker(), "--journal", "memory", "--http", $"{host}:{port}", .. extra],
                env: env);
            var node = new BareNode(process, $"http://127.0.0.1:{port}");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    using var answer = await Http.GetAsync(node.Url + "/healthcheck");
                    return node; // any answer: the endpoint is up
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(200);
                }
                catch (HttpRequestException)
                {
                    await process.DisposeAsync();
                    throw new InvalidOperationException($"the node never served HTTP: {LiveNode.Tail(process.Stderr)}");
                }
            }
        }

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }
}
