using System.Net;
using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace ActorMonitor.Host.Http;

/// <summary>The node's HTTP endpoint cannot be served as configured (exit 2 before anything starts).</summary>
public sealed class HttpSecurityException(string message) : Exception(message);

/// <summary>
/// What protects the HTTP endpoint (actormonitor.http): credentials (a bearer token and/or a basic
/// USER:PASSWORD), read-only mode and request limits. The secrets come from the environment or a
/// file, never from HOCON text, and this class never prints them (no ToString of its own state).
/// Every rule of who may call what is here, in one place, so none is missed on a new route.
/// </summary>
public sealed class HttpSecuritySettings
{
    public const string TokenVariable = "ACTORMONITOR_HTTP_TOKEN";
    public const string BasicVariable = "ACTORMONITOR_HTTP_BASIC";

    // SHA-256 of the secrets: compared in constant time whatever the length of what a client sends.
    private readonly byte[]? _tokenHash;
    private readonly byte[]? _basicHash;

    private readonly byte[]? _keyHash;

    private HttpSecuritySettings(byte[]? tokenHash, byte[]? basicHash, bool readOnly, bool loopback, bool controlWithoutCredentials,
        int maxRequestLine, int maxQueryString, int maxRequestHeaders, long maxRequestBody, HostNames hosts, string? key)
    {
        Hosts = hosts;
        Key = key;
        _keyHash = key is null ? null : Hash(key);
        ControlWithoutCredentials = controlWithoutCredentials;
        _tokenHash = tokenHash;
        _basicHash = basicHash;
        ReadOnly = readOnly;
        Loopback = loopback;
        MaxRequestLine = maxRequestLine;
        MaxQueryString = maxQueryString;
        MaxRequestHeaders = maxRequestHeaders;
        MaxRequestBody = maxRequestBody;
    }

    public bool RequiresCredentials => _tokenHash is not null || _basicHash is not null;
    public bool AcceptsBearer => _tokenHash is not null;
    public bool AcceptsBasic => _basicHash is not null;
    public bool ReadOnly { get; }
    public bool Loopback { get; }

    /// <summary>Celery's remote control served without credentials (actormonitor.http.control-without-credentials).</summary>
    public bool ControlWithoutCredentials { get; }
    public int MaxRequestLine { get; }
    public int MaxQueryString { get; }
    public int MaxRequestHeaders { get; }
    public long MaxRequestBody { get; }

    /// <summary>The names a request's Host may carry (DNS rebinding: a page of another name resolved to this address is refused).</summary>
    public HostNames Hosts { get; }

    /// <summary>
    /// Without credentials: the per-node key (<see cref="NodeKey"/>) that a request changing
    /// something must carry unless it comes from the node's own pages. Null with credentials.
    /// </summary>
    public string? Key { get; }

    /// <summary>Whether <paramref name="header"/> is this node's key (constant time).</summary>
    public bool IsKey(string? header) =>
        _keyHash is not null && !string.IsNullOrEmpty(header) && CryptographicOperations.FixedTimeEquals(Hash(header.Trim()), _keyHash);

    public override string ToString() =>
        $"credentials: {(AcceptsBearer && AcceptsBasic ? "bearer token or basic" : AcceptsBearer ? "bearer token" : AcceptsBasic ? "basic" : "none")}" +
        (ReadOnly ? "; read-only" : "");

    /// <summary>
    /// Reads actormonitor.http and the credential variables; refuses (<see cref="HttpSecurityException"/>)
    /// a non-loopback <paramref name="address"/> without credentials unless insecure-no-auth is on,
    /// and credential files that cannot be read or hold nothing usable.
    /// </summary>
    public static HttpSecuritySettings Load(Config config, string address, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var token = Secret(environment(TokenVariable), config.GetString("actormonitor.http.token-file", ""), "--http-token-file", TokenVariable);
        var basic = Secret(environment(BasicVariable), config.GetString("actormonitor.http.basic-file", ""), "--http-basic-file", BasicVariable);
        if (basic is not null && basic.IndexOf(':') is <= 0 || basic is not null && basic.IndexOf(':') == basic.Length - 1)
            throw new HttpSecurityException($"basic credentials ({BasicVariable} or --http-basic-file) must be USER:PASSWORD, both non-empty");

        var loopback = IsLoopback(address);
        var insecure = config.GetBoolean("actormonitor.http.insecure-no-auth", false);
        if (!loopback && token is null && basic is null && !insecure)
            throw new HttpSecurityException(
                $"HTTP on {address} is reachable from other machines and no credentials are configured: set {TokenVariable} or " +
                $"--http-token-file (a bearer token), {BasicVariable} or --http-basic-file (USER:PASSWORD), " +
                "or serve it to anyone who can reach it with --insecure-no-auth");

        var allowed = config.HasPath("actormonitor.http.allowed-hosts") ? config.GetStringList("actormonitor.http.allowed-hosts") : [];
        var hosts = HostNames.For(address, allowed, config.GetString("akka.remote.dot-netty.tcp.public-hostname", ""));
        return new HttpSecuritySettings(
            token is null ? null : Hash(token), basic is null ? null : Hash(basic),
            config.GetBoolean("actormonitor.http.read-only", false), loopback, config.GetBoolean("actormonitor.http.control-without-credentials", false),
            Positive(config, "max-request-line", 8192), Positive(config, "max-query-string", 2048),
            Positive(config, "max-request-headers", 32768), Positive(config, "max-request-body", 65536),
            hosts, token is null && basic is null ? NodeKey.NewKey() : null);
    }

    /// <summary>Whether a request's Authorization header carries one of the configured credentials.</summary>
    public bool Accepts(string? authorization)
    {
        if (!RequiresCredentials) return true;
        if (string.IsNullOrEmpty(authorization)) return false;
        var space = authorization.IndexOf(' ');
        if (space <= 0) return false;
        var scheme = authorization[..space];
        var value = authorization[(space + 1)..].Trim();
        if (_tokenHash is not null && scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            return CryptographicOperations.FixedTimeEquals(Hash(value), _tokenHash);
        if (_basicHash is not null && scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            string pair;
            try { pair = Encoding.UTF8.GetString(Convert.FromBase64String(value)); }
            catch (FormatException) { return false; }
            return CryptographicOperations.FixedTimeEquals(Hash(pair), _basicHash);
        }
        return false;
    }

    /// <summary>127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, *, a name, a LAN address) is reachable from elsewhere.</summary>
    public static bool IsLoopback(string address)
    {
        var colon = address.LastIndexOf(':');
        var host = (colon > 0 && !address.EndsWith(']') ? address[..colon] : address).Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }

    private static string? Secret(string? fromEnvironment, string file, string flag, string variable)
    {
        if (!string.IsNullOrEmpty(file))
        {
            string text;
            try { text = File.ReadAllText(file); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                // The reason names the file, never its content.
                throw new HttpSecurityException($"{flag} {file}: cannot read it ({ex.GetType().Name})");
            }
            return text.Trim() is { Length: > 0 } secret ? secret : throw new HttpSecurityException($"{flag} {file}: the file is empty");
        }
        if (fromEnvironment is null) return null;
        return fromEnvironment.Trim() is { Length: > 0 } value ? value : throw new HttpSecurityException($"{variable} is set but empty");
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static int Positive(Config config, string key, int fallback)
    {
        var value = config.GetInt("actormonitor.http." + key, fallback);
        return value > 0 ? value : throw new HttpSecurityException($"actormonitor.http.{key} must be positive, not {value}");
    }
}

/// <summary>
/// The names a request's Host header may carry: those of the address the endpoint is bound to
/// (loopback: localhost and the loopback addresses; a wildcard: any IP address, localhost, this
/// machine's name and the cluster's public host name; a name or an address: itself), plus
/// actormonitor.http.allowed-hosts ("*": any). A DNS-rebinding page addresses the node by the
/// page's own name, which is none of these.
/// </summary>
public sealed class HostNames
{
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);
    private bool _any;
    private bool _anyAddress;
    private bool _loopback;

    public static HostNames For(string address, IEnumerable<string> allowed, string publicHost = "")
    {
        var hosts = new HostNames();
        var colon = address.LastIndexOf(':');
        var host = (colon > 0 && !address.EndsWith(']') ? address[..colon] : address).Trim('[', ']');
        if (HttpSecuritySettings.IsLoopback(address)) hosts._loopback = true;
        else if (host is "" or "*" or "+" or "0.0.0.0" or "::")
        {
            hosts._anyAddress = true;
            hosts._loopback = true;
            hosts._names.Add(System.Net.Dns.GetHostName());
            if (publicHost.Length > 0) hosts._names.Add(publicHost);
        }
        else hosts._names.Add(host);
        foreach (var name in allowed.Select(a => a.Trim()).Where(a => a.Length > 0))
            if (name == "*") hosts._any = true;
            else hosts._names.Add(name.Trim('[', ']'));
        return hosts;
    }

    /// <summary>Whether <paramref name="host"/> (the Host header without its port) names this node.</summary>
    public bool Accepts(string host)
    {
        if (_any || host.Length == 0) return true; // HTTP/1.0 without Host: not a browser's request
        host = host.Trim('[', ']');
        if (_names.Contains(host)) return true;
        var isAddress = IPAddress.TryParse(host, out var ip);
        if (_loopback && (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || isAddress && IPAddress.IsLoopback(ip!))) return true;
        return _anyAddress && isAddress;
    }
}

/// <summary>
/// Request limits (Kestrel's, and a query-string bound with a clear 400), credentials on every
/// route but /healthcheck (401 with WWW-Authenticate), and read-only mode (403 on anything that is
/// not a read). Installed before any route, so no handler runs for a refused request.
/// </summary>
public static class HttpSecurity
{
    /// <summary>Builds the web application from <paramref name="builder"/> with the limits and the middleware in place.</summary>
    public static WebApplication Build(WebApplicationBuilder builder, HttpSecuritySettings settings)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestLineSize = settings.MaxRequestLine;
            kestrel.Limits.MaxRequestHeadersTotalSize = Math.Max(settings.MaxRequestHeaders, settings.MaxRequestLine);
            kestrel.Limits.MaxRequestBodySize = settings.MaxRequestBody;
        });
        var app = builder.Build();
        app.Use(async (http, next) =>
        {
            if (!settings.Hosts.Accepts(http.Request.Host.Host))
            {
                await Refuse(http, StatusCodes.Status421MisdirectedRequest,
                    $"this node does not serve the host name '{http.Request.Host.Host}': address it by the name it is bound to, or add the name to actormonitor.http.allowed-hosts (--http-allowed-hosts)");
                return;
            }
            var query = http.Request.QueryString.Value ?? "";
            if (query.Length > settings.MaxQueryString)
            {
                await Refuse(http, StatusCodes.Status400BadRequest,
                    $"query string too long: {query.Length} characters, at most {settings.MaxQueryString} (actormonitor.http.max-query-string)");
                return;
            }
            if (settings.RequiresCredentials && !IsOpen(http.Request.Path) && !settings.Accepts(http.Request.Headers.Authorization.ToString()))
            {
                if (settings.AcceptsBearer) http.Response.Headers.Append("WWW-Authenticate", "Bearer realm=\"actormonitor\"");
                if (settings.AcceptsBasic) http.Response.Headers.Append("WWW-Authenticate", "Basic realm=\"actormonitor\", charset=\"UTF-8\"");
                await Refuse(http, StatusCodes.Status401Unauthorized, "authentication required");
                return;
            }
            if (settings.ReadOnly && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method) && !HttpMethods.IsOptions(http.Request.Method))
            {
                await Refuse(http, StatusCodes.Status403Forbidden, "this node is read-only (--read-only): it does not change the cluster");
                return;
            }
            if (IsControl(http.Request) && !settings.RequiresCredentials && !settings.ControlWithoutCredentials)
            {
                await Refuse(http, StatusCodes.Status403Forbidden,
                    "Celery's remote control needs credentials: configure a token (--http-token-file or ACTORMONITOR_HTTP_TOKEN) or basic " +
                    "credentials, or serve it without them with --allow-control-without-credentials");
                return;
            }
            if (IsChange(http.Request) && CrossSite(http, settings) is { } refusal)
            {
                await Refuse(http, refusal.Status, refusal.Error);
                return;
            }
            await next(http);
        });
        // HEAD is GET without the body (RFC 9110): routed as GET; Kestrel, which parsed the request
        // as HEAD, sends the headers only. Routing comes after, so that the route is found as GET.
        app.Use((http, next) =>
        {
            if (HttpMethods.IsHead(http.Request.Method)) http.Request.Method = HttpMethods.Get;
            return next(http);
        });
        app.UseRouting();
        return app;
    }

    /// <summary>
    /// A route that acts on the workers or sends them work: Flower's control and task routes, all
    /// POST. An inspect (GET /api/workers?refresh=1) only reads, as in Flower, and stays open.
    /// </summary>
    public static bool IsControl(HttpRequest request)
    {
        var path = request.Path.Value ?? "";
        return HttpMethods.IsPost(request.Method) &&
            (path.StartsWith("/api/worker/", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/api/task/", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Any method but the reads (GET, HEAD, OPTIONS) changes something: the cross-site checks apply.</summary>
    public static bool IsChange(HttpRequest request) =>
        !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method);

    /// <summary>
    /// Why a request that changes something may come from another site's page, or null. A browser
    /// names the page's origin in Origin (on every POST) and Sec-Fetch-Site: another origin is
    /// refused. A body must be JSON (a page can send text/plain or a form cross-site without a
    /// preflight, not JSON), but on Flower's routes, whose clients send forms, as Flower takes
    /// them. Without credentials, a request not from the node's own pages must carry the node's
    /// key, which no page can read or send cross-site.
    /// </summary>
    private static (int Status, string Error)? CrossSite(HttpContext http, HttpSecuritySettings settings)
    {
        var request = http.Request;
        var origin = request.Headers.Origin.ToString();
        var sameOrigin = false;
        if (origin.Length > 0)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var o) || o.Scheme is not ("http" or "https") ||
                !string.Equals(o.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase))
                return (StatusCodes.Status403Forbidden, $"refused: a page of another origin ({origin}) cannot change this node");
            sameOrigin = true;
        }
        if (request.Headers["Sec-Fetch-Site"].ToString() is "cross-site" or "same-site")
            return (StatusCodes.Status403Forbidden, "refused: a page of another site cannot change this node");
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0 || request.ContentType is not null;
        if (hasBody && !IsJson(request.ContentType) && !(IsControl(request) && request.HasFormContentType))
            return (StatusCodes.Status415UnsupportedMediaType,
                $"the body must be JSON (Content-Type: application/json), not {(request.ContentType is { Length: > 0 } t ? t : "untyped")}");
        if (settings.Key is not null && !sameOrigin && !settings.IsKey(request.Headers[NodeKey.Header]))
            return (StatusCodes.Status403Forbidden,
                $"this node has no credentials configured: a change needs its key, header {NodeKey.Header} with the content of " +
                $"{NodeKey.PathFor(http.Connection.LocalPort)} on the node's machine (actormonitor cmd sends it), or credentials");
        return null;
    }

    private static bool IsJson(string? contentType) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media) &&
        (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) ||
         media.MediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Container and load-balancer health checks carry no credentials; the answer tells nothing secret.</summary>
    private static bool IsOpen(PathString path) => path.Equals("/healthcheck", StringComparison.OrdinalIgnoreCase);

    private static Task Refuse(HttpContext http, int status, string error)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error"] = error });
    }
}
