using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ActorMonitor.Host.Commands.Cmd;

/// <summary>A command cannot do its work: one line on standard error and this exit code.</summary>
internal sealed class CmdException(string message, int exitCode = CliError.ExitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The options every `cmd` command takes (recursive: given anywhere after `cmd`).</summary>
internal sealed class CmdOptions
{
    public const string DefaultUrl = "http://127.0.0.1:5555";

    public Option<string> Url { get; } = new("--url")
    {
        Description = "the node's HTTP endpoint [env ACTORMONITOR_URL]", Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ACTORMONITOR_URL") is { Length: > 0 } u ? u : DefaultUrl,
    };

    public Option<string?> Token { get; } = TokenOption(recursive: true);

    public Option<string?> Basic { get; } = BasicOption(recursive: true);

    public Option<bool> Json { get; } = new("--json") { Description = "print the node's JSON instead of a table (for scripts)", Recursive = true };

    public IEnumerable<Option> All => [Url, Token, Basic, Json];

    /// <summary>A bearer token for a node that requires one; the variable keeps it out of the process list.</summary>
    public static Option<string?> TokenOption(bool recursive) => new("--token")
    {
        Description = $"bearer token of a node that requires credentials [env {Http.HttpSecuritySettings.TokenVariable}]", Recursive = recursive,
    };

    public static Option<string?> BasicOption(bool recursive) => new("--basic")
    {
        Description = $"USER:PASSWORD of a node that requires basic auth [env {Http.HttpSecuritySettings.BasicVariable}]", Recursive = recursive,
    };
}

/// <summary>
/// `cmd`'s side of a node's HTTP endpoint: GETs and POSTs JSON, turns every failure into a
/// <see cref="CmdException"/> with one clear line (unreachable, credentials missing or refused,
/// read-only, a route this node does not serve, the node's own error).
/// </summary>
internal sealed class NodeClient : IDisposable
{
    private readonly HttpClient _http;

    public NodeClient(string url, string? token, string? basic, TimeSpan? timeout = null)
    {
        Url = url.TrimEnd('/');
        _http = new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(60) };
        Authorize(_http, token, basic);
        HasCredentials = _http.DefaultRequestHeaders.Authorization is not null;
        if (!HasCredentials) SendKey(_http, Url);
    }

    /// <summary>
    /// A node on this machine without credentials takes changes with its key, from a file only its
    /// user reads (<see cref="Http.NodeKey"/>), named by the port of <paramref name="url"/>.
    /// </summary>
    /// <param name="readKey">The key of the node on a port (tests); <see cref="Http.NodeKey.TryRead"/> by default.</param>
    public static void SendKey(HttpClient http, string url, Func<int, string?>? readKey = null)
    {
        // Only to this machine's loopback: the key of a local node never goes to another host.
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.IsLoopback || (readKey ?? Http.NodeKey.TryRead)(uri.Port) is not { } key) return;
        http.DefaultRequestHeaders.Remove(Http.NodeKey.Header);
        http.DefaultRequestHeaders.Add(Http.NodeKey.Header, key);
    }

    public string Url { get; }
    private bool HasCredentials { get; }

    public static NodeClient From(ParseResult parse, CmdOptions options) =>
        new(parse.GetValue(options.Url)!, parse.GetValue(options.Token), parse.GetValue(options.Basic));

    /// <summary>A flag wins over its variable; a token over basic credentials.</summary>
    public static void Authorize(HttpClient http, string? token, string? basic)
    {
        token ??= Environment.GetEnvironmentVariable(Http.HttpSecuritySettings.TokenVariable);
        basic ??= Environment.GetEnvironmentVariable(Http.HttpSecuritySettings.BasicVariable);
        if (!string.IsNullOrWhiteSpace(token))
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        else if (!string.IsNullOrWhiteSpace(basic))
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic.Trim())));
    }

    /// <summary>GET a JSON document; null when the node answers 404 and <paramref name="nullOnNotFound"/>.</summary>
    public async Task<JsonDocument?> GetAsync(string path, CancellationToken ct, bool nullOnNotFound = false)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, Url + path), ct);
        if (nullOnNotFound && response.StatusCode == HttpStatusCode.NotFound) return null;
        return await ReadAsync(response, path, ct);
    }

    public async Task<JsonDocument> GetRequiredAsync(string path, CancellationToken ct) => (await GetAsync(path, ct))!;

    /// <summary>
    /// GET; on 404, no document and whether the route itself is missing (an empty 404 from a node
    /// that does not serve it) rather than the node's "unknown ..." answer (a 404 with an error).
    /// </summary>
    public async Task<(JsonDocument? Document, bool RouteMissing)> TryGetAsync(string path, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, Url + path), ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return (null, ErrorOf(await response.Content.ReadAsStringAsync(ct)) is null);
        return (await ReadAsync(response, path, ct), false);
    }

    public async Task<JsonDocument> PostAsync(string path, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, Url + path), ct);
        return await ReadAsync(response, path, ct);
    }

    /// <summary>
    /// POST to one of Flower's control or task routes, its arguments as a form (null values left
    /// out). Flower answers an unknown worker or task with a plain-text 404: that is
    /// <paramref name="notFoundExit"/>, as an empty 404 (a node that does not serve the route) is not.
    /// </summary>
    public Task<JsonDocument> PostFormAsync(string path, IEnumerable<(string Name, string? Value)> form, int notFoundExit, CancellationToken ct) =>
        PostContentAsync(path, new FormUrlEncodedContent(form.Where(f => f.Value is not null)
            .Select(f => new KeyValuePair<string, string>(f.Name, f.Value!))), notFoundExit, ct);

    /// <summary>POST a JSON body (Flower's task routes: args, kwargs, options).</summary>
    public Task<JsonDocument> PostJsonAsync(string path, string json, int notFoundExit, CancellationToken ct) =>
        PostContentAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), notFoundExit, ct);

    private async Task<JsonDocument> PostContentAsync(string path, HttpContent content, int notFoundExit, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url + path) { Content = content };
        using var response = await SendAsync(request, ct);
        return await ReadAsync(response, path, ct, notFoundExit);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CmdException($"node at {Url} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or UriFormatException)
        {
            throw new CmdException($"cannot reach node at {Url}: {ex.GetBaseException().Message}");
        }
    }

    /// <param name="notFoundExit">When given, a 404 with a body (JSON error or Flower's plain text) is the node's "unknown ..." with this exit code.</param>
    private async Task<JsonDocument> ReadAsync(HttpResponseMessage response, string path, CancellationToken ct, int? notFoundExit = null)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        if (!response.IsSuccessStatusCode)
        {
            var error = ErrorOf(body);
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new CmdException(HasCredentials
                    ? $"node at {Url} refused the credentials given"
                    : $"node at {Url} requires credentials: give --token or {Http.HttpSecuritySettings.TokenVariable} (or --basic USER:PASSWORD)"),
                // Flower's refusals (a worker's "error") are plain text; the security layer's are JSON.
                HttpStatusCode.Forbidden => new CmdException($"node at {Url} refused: {error ?? Shorten(body)}"),
                HttpStatusCode.NotFound when notFoundExit is { } exit && body.Trim().Length > 0 => new CmdException($"node at {Url}: {error ?? Shorten(body)}", exit),
                HttpStatusCode.NotFound when error is null => new CmdException($"node at {Url} does not serve {path.Split('?')[0]} (404)"),
                _ => new CmdException($"node at {Url} answered {(int)response.StatusCode}: {error ?? Shorten(body)}"),
            };
        }
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw new CmdException($"node at {Url} answered {path.Split('?')[0]} with something that is not JSON: {Shorten(body)}");
        }
    }

    /// <summary>The "error" of the node's JSON error answers.</summary>
    private static string? ErrorOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e) ? e.ToString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length > 200 ? line[..200] + "…" : line.Length == 0 ? "(no body)" : line;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>What a command prints: tables with aligned columns for people, JSON for scripts, on standard output.</summary>
internal sealed class CmdOutput(Stream stream)
{
    private readonly StringBuilder _text = new();

    public void Line(string text = "") => _text.Append(text).Append('\n');

    /// <summary>Columns padded to their widest cell; numbers right-aligned; no trailing spaces.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var all = rows.Select(r => r.Select(c => c ?? "-").ToArray()).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        // A column of numbers (and "-" for none) is right-aligned; one of "-" alone is not numbers.
        var numeric = headers.Select((_, i) => all.Any(r => i < r.Length && r[i] != "-") && all.All(r => i >= r.Length || IsNumber(r[i]))).ToArray();
        Row(headers.ToArray());
        foreach (var r in all) Row(r);

        void Row(string[] cells)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < headers.Count; i++)
            {
                var cell = i < cells.Length ? cells[i] : "";
                if (i > 0) sb.Append("  ");
                sb.Append(numeric[i] ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
            }
            Line(sb.ToString().TrimEnd());
        }
    }

    /// <summary>One record as aligned NAME  value lines.</summary>
    public void Fields(IEnumerable<(string Name, string? Value)> fields)
    {
        var list = fields.ToList();
        var width = list.Count == 0 ? 0 : list.Max(f => f.Name.Length);
        foreach (var (name, value) in list) Line($"{name.PadRight(width)}  {value ?? "-"}".TrimEnd());
    }

    public void Json(JsonElement element) => Line(element.GetRawText());

    public void Json(object value) => Line(JsonSerializer.Serialize(value));

    public async Task FlushAsync(CancellationToken ct)
    {
        await stream.WriteAsync(Encoding.UTF8.GetBytes(_text.ToString()), ct);
        await stream.FlushAsync(ct);
    }

    private static bool IsNumber(string cell) => cell == "-" || HumanFormat.IsNumber(cell);
}

/// <summary>Runs a command's body with a client and an output; failures become one line and their exit code.</summary>
internal static class CmdRunner
{
    public static void SetAction(Command command, CmdOptions options, Func<ParseResult, NodeClient, CmdOutput, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, ct) =>
        {
            using var client = NodeClient.From(parse, options);
            var output = new CmdOutput(Program.DataOut);
            try
            {
                var code = await body(parse, client, output, ct);
                await output.FlushAsync(ct);
                return code;
            }
            catch (CmdException ex)
            {
                Console.Error.WriteLine($"actormonitor: {ex.Message}");
                return ex.ExitCode;
            }
        });

    /// <summary>JSON values as a person reads them: strings bare, null as "-", epoch seconds as they are.</summary>
    public static string? Text(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.True => "yes",
        JsonValueKind.False => "no",
        _ => e.GetRawText(),
    };

    public static string? Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? Text(v) : null;

    /// <summary>Epoch seconds as local time for tables (JSON output keeps the numbers).</summary>
    public static string? Time(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? HumanFormat.Time(v.GetDouble()) : null;

    /// <summary>A count grouped (12,345).</summary>
    public static string? Count(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? HumanFormat.Count(v) : null;

    /// <summary>Seconds in ms or s.</summary>
    public static string? Duration(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? HumanFormat.Duration(v) : null;
}
