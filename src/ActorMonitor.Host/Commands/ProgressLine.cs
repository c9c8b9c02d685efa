using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ActorMonitor.Host.Commands;

/// <summary>
/// One live line on standard error for the long commands (replay, publish, capture, simulate):
/// count, rate, elapsed, and the share done and an ETA when the total is known (bytes of a file,
/// or a duration). Only on a terminal: when standard error is redirected, or the log level is
/// off, nothing is written, so scripts see what they always saw.
/// </summary>
internal sealed class ProgressLine : IDisposable
{
    /// <summary>At most five refreshes a second: enough to read, little to draw.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(200);

    private readonly TextWriter? _output;
    private readonly string _verb;
    private readonly string _unit;
    private readonly long? _totalBytes;
    private readonly TimeSpan? _duration;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly Timer? _timer;
    private long _count;
    private long _bytes;
    private bool _closed;

    /// <param name="output">Null: nothing is shown (reports still count).</param>
    internal ProgressLine(TextWriter? output, string verb, string unit, long? totalBytes = null, TimeSpan? duration = null)
    {
        (_output, _verb, _unit, _totalBytes, _duration) = (output, verb, unit, totalBytes, duration);
        if (_output is not null) _timer = new Timer(_ => Draw(final: false), null, Refresh, Refresh);
    }

    /// <summary>On standard error when it is a terminal and the log level is not off.</summary>
    public static ProgressLine OnTerminal(string verb, string unit, long? totalBytes = null, TimeSpan? duration = null) =>
        new(!Console.IsErrorRedirected && CliLog.Level != LogLevel.None ? Console.Error : null, verb, unit, totalBytes, duration);

    public bool Shown => _output is not null;

    /// <summary>From the working thread: the count so far and, for a file, the bytes read so far.</summary>
    public void Report(long count, long bytes = 0)
    {
        Volatile.Write(ref _count, count);
        Volatile.Write(ref _bytes, bytes);
    }

    /// <summary>The line as it reads now, e.g. "replay  12,345 messages  8,765/s  0:03  41%  ETA 0:04".</summary>
    internal string Text()
    {
        var elapsed = _clock.Elapsed;
        var count = Volatile.Read(ref _count);
        var rate = count / Math.Max(elapsed.TotalSeconds, 1e-3);
        var text = string.Format(CultureInfo.InvariantCulture, "{0}  {1:N0} {2}  {3:N0}/s  {4}", _verb, count, _unit, rate, Clock(elapsed));
        double? done = _totalBytes is > 0 ? Math.Min(1.0, Volatile.Read(ref _bytes) / (double)_totalBytes.Value)
            : _duration is { } d && d > TimeSpan.Zero ? Math.Min(1.0, elapsed / d) : null;
        if (done is not { } share) return text;
        text += string.Format(CultureInfo.InvariantCulture, "  {0:0}%", Math.Floor(share * 100)); // 100% only when done
        if (share > 0 && share < 1) text += "  ETA " + Clock(elapsed * ((1 - share) / share));
        return text;
    }

    private void Draw(bool final)
    {
        lock (_gate)
        {
            if (_closed || _output is null) return;
            // Back to the start of the line, the text, the rest of any longer previous text erased.
            _output.Write("\r" + Text() + "\u001b[K" + (final ? "\n" : ""));
            _output.Flush();
            _closed = final;
        }
    }

    private static string Clock(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";

    /// <summary>The last figures stay on screen, on a line of their own.</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        Draw(final: true);
    }
}
