using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Store.Tests;

/// <summary>Task records built from Celery events, as the entities build them, for rows to store.</summary>
internal static class TestRecords
{
    private static readonly EventDecoder Decoder = new();

    /// <summary>A task that received one task-received event with <paramref name="fields"/> (JSON members).</summary>
    public static TaskRecord Received(string uuid, double timestamp, string fields)
    {
        var ev = Assert.Single(Decoder.Decode($$"""{"hostname": "w1@h", "clock": 3, "uuid": "{{uuid}}", {{fields}}, "timestamp": {{timestamp}}, "type": "task-received"}""").Events);
        ev.LocalReceived = timestamp;
        var record = new TaskRecord(uuid);
        record.Apply(TaskEvent.From(ev), 1);
        return record;
    }
}
