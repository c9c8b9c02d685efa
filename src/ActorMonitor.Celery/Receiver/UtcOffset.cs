namespace ActorMonitor.Celery.Receiver;

/// <summary>Celery's utcoffset(): hours WEST of UTC, floor-divided (Kolkata +5:30 gives -6).</summary>
public static class UtcOffset
{
    public static long FromSecondsEast(double secondsEast) => (long)Math.Floor(-secondsEast / 3600.0);

    /// <summary>This machine's offset at <paramref name="utcNow"/>, as Celery computes it from time.timezone/altzone.</summary>
    public static long Local(DateTimeOffset utcNow) =>
        FromSecondsEast(TimeZoneInfo.Local.GetUtcOffset(utcNow).TotalSeconds);

    /// <summary>adjust_timestamp(ts, offset, here) = ts - (offset - here) * 3600.</summary>
    public static double Adjust(double timestamp, double senderOffset, long here) => timestamp - (senderOffset - here) * 3600;
}
