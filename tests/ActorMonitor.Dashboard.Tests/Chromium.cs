using Microsoft.Playwright;

namespace ActorMonitor.Dashboard.Tests;

/// <summary>Debian's Chromium, headless, with a fresh profile, driven by Playwright (which never downloads a browser here).</summary>
internal sealed class Chromium : IAsyncDisposable
{
    /// <summary>The flags a closed network and a root user need (no sandbox, no background traffic).</summary>
    public static readonly string[] Args =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;
    private readonly string _profile;

    private Chromium(IPlaywright playwright, IBrowserContext browser, string profile)
    {
        _playwright = playwright;
        Browser = browser;
        _profile = profile;
    }

    public IBrowserContext Browser { get; }

    public static async Task<Chromium> LaunchAsync()
    {
        var profile = Directory.CreateTempSubdirectory("am-chromium-").FullName;
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = "/usr/bin/chromium", Headless = true, Args = Args,
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        return new Chromium(playwright, browser, profile);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        Directory.Delete(_profile, recursive: true);
    }
}
