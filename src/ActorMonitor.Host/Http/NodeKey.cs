using System.Security.Cryptography;

namespace ActorMonitor.Host.Http;

/// <summary>
/// The per-node key a node without credentials requires on every request that changes something
/// (header <see cref="Header"/>), unless the request comes from one of the node's own pages. It
/// lives in a file only the node's user can read, named by the HTTP port, so `actormonitor cmd`
/// finds it from its --url alone; a web page can neither read the file nor send the header
/// cross-site without a CORS preflight, which the node never grants.
/// </summary>
public static class NodeKey
{
    public const string Header = "X-ActorMonitor-Key";
    public const string DirectoryVariable = "ACTORMONITOR_HTTP_KEY_DIR";

    public static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// $ACTORMONITOR_HTTP_KEY_DIR, else $XDG_RUNTIME_DIR/actormonitor, else ~/.actormonitor, else a
    /// directory of this user's in the temporary directory.
    /// </summary>
    public static string Directory(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (environment(DirectoryVariable) is { Length: > 0 } dir) return dir;
        if (environment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime) return Path.Combine(runtime, "actormonitor");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home) && System.IO.Directory.Exists(home)) return Path.Combine(home, ".actormonitor");
        return Path.Combine(Path.GetTempPath(), "actormonitor-" + Environment.UserName);
    }

    public static string PathFor(int port, Func<string, string?>? environment = null) => Path.Combine(Directory(environment), $"http-{port}.key");

    /// <summary>Writes the key readable by this user only (directory 0700, file 0600); the reason on failure.</summary>
    public static string? TryWrite(int port, string key)
    {
        var path = PathFor(port);
        try
        {
            var dir = Path.GetDirectoryName(path)!;
            if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(dir);
            else System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var temp = path + ".tmp";
            File.Delete(temp);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream)) writer.WriteLine(key);
            File.Move(temp, path, overwrite: true);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"{path}: {ex.Message}";
        }
    }

    /// <summary>The key of the node serving <paramref name="port"/> on this machine, when this user can read it.</summary>
    public static string? TryRead(int port)
    {
        try { return File.ReadAllText(PathFor(port)).Trim() is { Length: > 0 } key ? key : null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Removes the key file if it still holds this key (a node started since on the port wrote its own).</summary>
    public static void Remove(int port, string key)
    {
        if (TryRead(port) == key)
            try { File.Delete(PathFor(port)); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
    }
}
