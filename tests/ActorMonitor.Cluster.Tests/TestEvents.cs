using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Cluster.Tests;

internal static class TestEvents
{
    private static readonly EventDecoder Decoder = new();

    public static DecodedMessage Message(string body) => Decoder.Decode(body);

    public static TaskEvent Task(string type, string uuid, double timestamp, string extra = "", string hostname = "w1@h")
    {
        var ev = Assert.Single(Decoder.Decode($$"""{"hostname": "{{hostname}}", "clock": 3, "uuid": "{{uuid}}"{{(extra.Length > 0 ? ", " + extra : "")}}, "timestamp": {{timestamp}}, "type": "{{type}}"}""").Events);
        ev.LocalReceived = timestamp;
        return TaskEvent.From(ev);
    }

    public static WorkerEvent Worker(string type, double timestamp, string extra = "", string hostname = "w1@h")
    {
        var ev = Assert.Single(Decoder.Decode($$"""{"hostname": "{{hostname}}", "clock": 3, "pid": 9{{(extra.Length > 0 ? ", " + extra : "")}}, "timestamp": {{timestamp}}, "type": "{{type}}"}""").Events);
        ev.LocalReceived = timestamp;
        return WorkerEvent.From(ev);
    }
}
