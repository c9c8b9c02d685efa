using System.Globalization;
using System.Text.Json;

namespace ActorMonitor.Host.Commands.Cmd;

/// <summary>
/// Figures in tables as a person reads them, as the dashboard shows them: a task's runtime in ms or
/// s, times in the local time zone with their offset, counts grouped. --json keeps the node's numbers.
/// </summary>
internal static class HumanFormat
{
    /// <summary>Celery's Task and Worker fields that hold epoch seconds.</summary>
    private static readonly HashSet<string> TimeFields =
        ["sent", "received", "started", "succeeded", "failed", "retried", "revoked", "rejected", "timestamp", "local_received"];

    /// <summary>Fields that count things (not ids, clocks or pids).</summary>
    private static readonly HashSet<string> CountFields = ["processed", "active", "total"];

    /// <summary>Under a second in ms with one decimal (4.46e-05 s is "0.0 ms"), else s with two.</summary>
    public static string Duration(double seconds) => seconds < 1
        ? (seconds * 1000).ToString("F1", CultureInfo.InvariantCulture) + " ms"
        : seconds.ToString("F2", CultureInfo.InvariantCulture) + " s";

    /// <summary>Local time with its offset, to the second: 2026-12-06 21:04:05 +01:00.</summary>
    public static string Time(double epochSeconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(epochSeconds * 1000)).ToLocalTime()
            .ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A whole number grouped; anything else as CmdRunner.Text shows it.</summary>
    public static string? Count(JsonElement v) => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? Count(n) : CmdRunner.Text(v);

    public static string? Duration(JsonElement v) => v.ValueKind == JsonValueKind.Number ? Duration(v.GetDouble()) : CmdRunner.Text(v);

    public static string? Time(JsonElement v) => v.ValueKind == JsonValueKind.Number ? Time(v.GetDouble()) : CmdRunner.Text(v);

    /// <summary>One field of a task or a worker, formatted by its name.</summary>
    public static string? Field(string name, JsonElement v) =>
        name == "runtime" ? Duration(v) : TimeFields.Contains(name) ? Time(v) : CountFields.Contains(name) ? Count(v) : CmdRunner.Text(v);

    /// <summary>A number as the tables print them: plain, grouped, or a duration.</summary>
    public static bool IsNumber(string cell)
    {
        var figure = cell.EndsWith(" ms", StringComparison.Ordinal) ? cell[..^3] : cell.EndsWith(" s", StringComparison.Ordinal) ? cell[..^2] : cell;
        return double.TryParse(figure, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out _);
    }
}
