using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Tests;

/// <summary>Builds events the way a receiver hands them on: decoded, then stamped.</summary>
internal static class Events
{
    private static readonly EventDecoder Decoder = new();

    public static CeleryEvent Decode(string json)
    {
        var decoded = Decoder.Decode(json);
        Assert.Empty(decoded.Rejections);
        return Assert.Single(decoded.Events);
    }

    public static TaskEvent Task(string type, double timestamp, string extraFields = "", string uuid = "u1", string hostname = "w1@h", long clock = 1)
    {
        var ev = Decode($$"""{"hostname": "{{hostname}}", "utcoffset": 0, "pid": 10, "clock": {{clock}}, "uuid": "{{uuid}}"{{(extraFields.Length > 0 ? ", " + extraFields : "")}}, "timestamp": {{timestamp}}, "type": "{{type}}"}""");
        ev.LocalReceived = timestamp + 0.001;
        return TaskEvent.From(ev);
    }

    public static WorkerEvent Worker(string type, double timestamp, double localReceived, string extraFields = "", string hostname = "w1@h")
    {
        var ev = Decode($$"""{"hostname": "{{hostname}}", "utcoffset": 0, "pid": 10, "clock": 3{{(extraFields.Length > 0 ? ", " + extraFields : "")}}, "timestamp": {{timestamp}}, "type": "{{type}}"}""");
        ev.LocalReceived = localReceived;
        return WorkerEvent.From(ev);
    }
}

internal static class WorkerEventTestExtensions
{
    /// <summary>The same event with another pid and clock (and an id of its own).</summary>
    public static WorkerEvent WithFields(this WorkerEvent ev, int pid, int clock) => ev with
    {
        Fields = ev.Fields.Select(kv => kv.Key switch
        {
            "pid" => new KeyValuePair<string, string>("pid", pid.ToString()),
            "clock" => new KeyValuePair<string, string>("clock", clock.ToString()),
            _ => kv,
        }).ToList(),
        Id = (ulong)(pid * 1_000_003L + clock * 7919L + (long)(ev.Timestamp * 1000)),
    };
}
