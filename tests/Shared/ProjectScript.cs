using System.Diagnostics;

namespace ActorMonitor.Tests.Shared;

/// <summary>Runs one of the project's scripts/ (rabbitmq, postgres) as the fixtures use them: VERB PORT.</summary>
public static class ProjectScript
{
    /// <returns>Its standard output; throws with both outputs when it fails.</returns>
    public static async Task<string> RunAsync(string script, string verb, int port)
    {
        var psi = new ProcessStartInfo(Repo.Path("scripts", script)) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(verb);
        psi.ArgumentList.Add(port.ToString());
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"scripts/{script} {verb} {port} failed: {await stdout}{await stderr}");
        return await stdout;
    }
}
