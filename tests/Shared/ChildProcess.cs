using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ActorMonitor.Tests.Shared;

/// <summary>A real process of a test (a node, a Celery worker, a script), with its output kept for diagnosis.</summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly SemaphoreSlim _lines = new(0);

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Stdout => string.Join("\n", _stdout);
    public string Stderr => string.Join("\n", _stderr);

    public static ChildProcess Start(string name, string file, IEnumerable<string> args, string? workingDirectory = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new ChildProcess(p, name);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { child._stdout.Enqueue(e.Data); child._lines.Release(); } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) child._stderr.Enqueue(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs the actormonitor executable built beside the tests.</summary>
    public static ChildProcess Actormonitor(string name, params string[] args) =>
        Start(name, "dotnet", new[] { Path.Combine(AppContext.BaseDirectory, "actormonitor.dll") }.Concat(args));

    /// <summary>Runs the actormonitor executable inside a cgroup (its directory's cgroup.procs gets the pid before exec).</summary>
    public static ChildProcess ActormonitorInCgroup(string name, string cgroupDirectory, params string[] args) =>
        Start(name, "sh", new[] { "-c", "echo $$ > \"$0\"/cgroup.procs && exec dotnet \"$@\"", cgroupDirectory,
            Path.Combine(AppContext.BaseDirectory, "actormonitor.dll") }.Concat(args));

    /// <summary>Sends a signal (SIGSTOP 19 freezes the process as a long stall would, SIGCONT 18 thaws it).</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited && kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastWin32Error()}");
    }

    public async Task WaitForStdoutLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!_stdout.Any(predicate))
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited ({_process.ExitCode}): {Stderr}");
            try { await _lines.WaitAsync(TimeSpan.FromMilliseconds(200), cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"{Name} did not print the expected line in {timeout}: {Stdout}\n{Stderr}"); }
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>SIGTERM (a warm shutdown for Celery, a graceful leave for a node), then waits.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited) kill(_process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Name} did not exit within {timeout} of SIGTERM: {Stderr}");
        }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process gets no chance to clean up (a crash).</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited) kill(_process.Id, 9);
        await _process.WaitForExitAsync();
    }

    /// <summary>Waits for a process that ends by itself; returns its exit code.</summary>
    public async Task<int> TerminateAfterExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
