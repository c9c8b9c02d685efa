using RabbitMQ.Client;

namespace ActorMonitor.Rabbit;

/// <summary>
/// A broker URL as Celery writes it: <c>amqp://user:password@host:port/vhost</c>, where a path of
/// "/" or "//" (kombu's way of naming the default vhost) means the vhost "/".
/// </summary>
public sealed record BrokerAddress(string Host, int Port, string User, string Password, string VirtualHost)
{
    public static BrokerAddress Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "pyamqp"))
            throw new FormatException($"not an amqp:// broker URL: '{url}'");
        var user = "guest";
        var password = "guest";
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            if (parts.Length > 1) password = Uri.UnescapeDataString(parts[1]);
        }
        var path = uri.AbsolutePath;
        var vhost = path is "" or "/" or "//" ? "/" : Uri.UnescapeDataString(path[1..]);
        return new BrokerAddress(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 5672 : uri.Port, user, password, vhost);
    }

    public ConnectionFactory CreateFactory(string clientName) => new()
    {
        HostName = Host,
        Port = Port,
        UserName = User,
        Password = Password,
        VirtualHost = VirtualHost,
        ClientProvidedName = clientName,
        // Reconnection is ours: logged, with back-off, and it re-declares the queue.
        AutomaticRecoveryEnabled = false,
        TopologyRecoveryEnabled = false,
        RequestedHeartbeat = TimeSpan.FromSeconds(10),
    };

    public override string ToString() => $"amqp://{User}@{Host}:{Port}/{(VirtualHost == "/" ? "/" : Uri.EscapeDataString(VirtualHost))}";
}
