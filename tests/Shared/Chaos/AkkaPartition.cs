namespace ActorMonitor.Tests.Shared;

/// <summary>
/// Cuts one node's Akka traffic off from the others with iptables, both ways, leaving its other
/// connections (RabbitMQ, PostgreSQL) alone: the node runs in a cgroup of its own, matched by
/// iptables' cgroup module for what it sends, and everyone's packets to its Akka port are dropped.
/// </summary>
public sealed class AkkaPartition : IDisposable
{
    // The cgroup v2 hierarchy: beside v1 controllers (hybrid), or the whole of /sys/fs/cgroup.
    private static readonly string Root = Directory.Exists("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
    private readonly string _name = $"actormonitor-test-{Guid.NewGuid():N}"[..30];
    private readonly List<string[]> _rules = [];

    public AkkaPartition()
    {
        Directory.CreateDirectory(Cgroup);
    }

    public string Cgroup => Path.Combine(Root, _name);

    public void Isolate(int port, int[] others)
    {
        Add(["-p", "tcp", "-m", "cgroup", "--path", _name, "-m", "multiport", "--dports", string.Join(",", others), "-j", "DROP"]);
        Add(["-p", "tcp", "-m", "cgroup", "--path", _name, "--sport", port.ToString(), "-j", "DROP"]);
        Add(["-p", "tcp", "--dport", port.ToString(), "-j", "DROP"]);
    }

    public void Heal()
    {
        foreach (var rule in _rules) Iptables(["-D", "OUTPUT", .. rule]);
        _rules.Clear();
    }

    private void Add(string[] rule)
    {
        Iptables(["-I", "OUTPUT", .. rule]);
        _rules.Add(rule);
    }

    private static void Iptables(string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("iptables") { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"iptables {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
    }

    public void Dispose()
    {
        Heal();
        // Empty once its process exited (the test disposes the nodes first).
        try { Directory.Delete(Cgroup); } catch (IOException) { }
    }
}
