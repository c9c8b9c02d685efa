using System.Net;
using System.Net.Sockets;

namespace ActorMonitor.Tests.Shared;

public static class Repo
{
    public static string Root { get; } = System.IO.Path.GetFullPath(System.IO.Path.Combine(Corpus.Root, "..", ".."));

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>A TCP port nothing listens on now (and, optionally, one at a fixed offset from it).</summary>
    public static int FreePort(int alsoFreeAtOffset = 0)
    {
        var rnd = new Random();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = rnd.Next(20000, 40000);
            if (IsFree(port) && (alsoFreeAtOffset == 0 || IsFree(port + alsoFreeAtOffset))) return port;
        }
        throw new InvalidOperationException("no free port found");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            l.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
