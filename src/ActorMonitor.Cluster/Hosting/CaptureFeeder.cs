using ActorMonitor.Celery.Capture;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Cluster.Hosting;

/// <summary>
/// Feeds a capture (JSON lines) through a node's receiver as if each line had just arrived from
/// the broker at its recorded local_received. Decoding runs on the caller's thread, in parallel
/// with the actors; the ingest window bounds what is in flight.
/// </summary>
public static class CaptureFeeder
{
    /// <param name="progress">Told after every line: messages fed so far and bytes of the capture read.</param>
    /// <returns>The number of messages (non-blank lines) fed.</returns>
    public static async Task<long> FeedAsync(MonitorNode node, Stream capture, CancellationToken ct = default, Action<long, long>? progress = null)
    {
        var decoder = node.CreateDecoder();
        var lines = new Utf8LineReader(capture);
        await using var ingest = node.CreateIngestClient();
        double? lastLocalReceived = null;
        long messages = 0, bytes = 0;
        while (await lines.ReadLineAsync(ct) is { } line)
        {
            bytes += line.Length + 1; // its line break, give or take a \r
            if (IsBlank(line.Span)) continue;
            messages++;
            var record = CaptureRecord.Parse(line.Span, out var error);
            // A line without local_received keeps the replay's clock where it was, never the wall clock.
            lastLocalReceived = record?.LocalReceived ?? lastLocalReceived;
            var decoded = record is null
                ? DecodedMessage.Rejected(RejectionCause.BadCaptureLine, error!)
                : decoder.Decode(record.Body);
            await ingest.SendAsync(record?.RoutingKey ?? "", decoded, lastLocalReceived ?? 0, ct);
            progress?.Invoke(messages, bytes);
        }
        await ingest.WhenAllAppliedAsync(ct);
        return messages;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).IsEmpty;
}
