namespace ActorMonitor.Store;

public enum StoreKind { Memory, Sqlite, Postgres }

/// <summary>
/// Where state and journal live, as given by <c>--journal</c> or <c>actormonitor.journal</c>:
/// <c>memory</c>, <c>sqlite:PATH</c> or <c>postgres:CONNECTION_STRING</c>.
/// </summary>
public sealed record StoreTarget(StoreKind Kind, string Location)
{
    public static readonly StoreTarget Memory = new(StoreKind.Memory, "");

    public static StoreTarget Parse(string spec)
    {
        var colon = spec.IndexOf(':');
        var scheme = colon < 0 ? spec : spec[..colon];
        var rest = colon < 0 ? "" : spec[(colon + 1)..];
        return scheme.ToLowerInvariant() switch
        {
            "memory" when rest.Length == 0 => Memory,
            "sqlite" when rest.Length > 0 => new StoreTarget(StoreKind.Sqlite, Path.GetFullPath(rest)),
            "postgres" or "postgresql" when rest.Length > 0 => new StoreTarget(StoreKind.Postgres, rest),
            _ => throw new FormatException(
                $"journal '{spec}' is not one of: memory, sqlite:PATH, postgres:CONNECTION_STRING"),
        };
    }

    /// <summary>The ADO.NET connection string.</summary>
    public string ConnectionString => Kind switch
    {
        StoreKind.Sqlite => $"Data Source={Location};Pooling=True;Default Timeout=30",
        StoreKind.Postgres => Location,
        _ => "",
    };

    /// <summary>Safe to log: no password.</summary>
    public override string ToString() => Kind switch
    {
        StoreKind.Memory => "memory",
        StoreKind.Sqlite => "sqlite:" + Location,
        _ => "postgres:" + string.Join(';', Location.Split(';')
            .Where(p => !p.TrimStart().StartsWith("password", StringComparison.OrdinalIgnoreCase))),
    };
}
