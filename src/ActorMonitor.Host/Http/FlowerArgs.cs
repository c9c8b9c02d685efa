using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace ActorMonitor.Host.Http;

/// <summary>Tornado's get_argument as Flower uses it: the query string or a form body, the last value wins; typed with Flower's 400s.</summary>
internal static class FlowerArgs
{
    public static async Task ReadFormAsync(HttpContext http, CancellationToken ct)
    {
        if (http.Request.HasFormContentType) await http.Request.ReadFormAsync(ct);
    }

    public static string? Optional(HttpContext http, string name)
    {
        string? value = null;
        if (http.Request.Query.TryGetValue(name, out var q) && q.Count > 0) value = q[^1];
        if (http.Request.HasFormContentType && http.Request.Form.TryGetValue(name, out var f) && f.Count > 0) value = f[^1]; // read by the guard
        return value?.Trim();
    }

    public static string Required(HttpContext http, string name) => Optional(http, name) ?? throw Missing(name);

    public static FlowerHttpError Missing(string name) => new(400, $"Missing argument {name}");

    public static int? Int(HttpContext http, string name) => Optional(http, name) is { } s
        ? int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new FlowerHttpError(400, $"Invalid argument '{s}' of type 'int'")
        : null;

    public static double? Float(HttpContext http, string name) => Optional(http, name) is { } s
        ? double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : throw new FlowerHttpError(400, $"Invalid argument '{s}' of type 'float'")
        : null;

    /// <summary>Python's strtobool, as Flower's get_argument(type=bool).</summary>
    public static bool? Bool(HttpContext http, string name) => Optional(http, name)?.ToLowerInvariant() switch
    {
        null => null,
        "y" or "yes" or "t" or "true" or "on" or "1" => true,
        "n" or "no" or "f" or "false" or "off" or "0" => false,
        var s => throw new FlowerHttpError(400, $"Invalid argument '{s}' of type 'bool'"),
    };
}
