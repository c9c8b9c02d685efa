using System.Collections.Frozen;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;
using ActorMonitor.Celery.State;
using ActorMonitor.Cluster.Metrics;

namespace ActorMonitor.Cluster.Tasks;

/// <summary>What the node's metrics learn from a task event applied for the first time.</summary>
internal static class TaskObservations
{
    /// <param name="queue">The queue named by the task's sent event, kept by its slot: updated when this event names one.</param>
    public static TaskObserved Of(TaskRecord record, TaskEvent ev, ref string? queue)
    {
        var state = record.State;
        if (ev.Field("queue") is { } raw && RawJson.AsString(raw) is { } q) queue = q;
        var eta = state["eta"];
        var hasEta = eta is not null && eta != RawJson.Null && eta != "\"\"";
        return new TaskObserved(
            record.Uuid, EventType(ev.Subject), ev.Hostname,
            EventName(ev, state) ?? state.Name ?? "",
            queue ?? "celery", state.State, state.Worker,
            RawJson.AsNumber(ev.Field("runtime")), RawJson.AsNumber(state["runtime"]),
            ev.Subject == "failed" ? RawJson.AsString(state["exception"]) : null,
            hasEta, hasEta ? EtaEpoch(eta!) : null,
            RawJson.AsNumber(state["sent"]), RawJson.AsNumber(state["received"]), RawJson.AsNumber(state["started"]));
    }

    /// <summary>The event's own task name: the state's decoded string when the state took that very value.</summary>
    private static string? EventName(TaskEvent ev, TaskState state) =>
        ev.Field("name") is not { } raw ? null : ReferenceEquals(raw, state["name"]) ? state.Name : RawJson.AsString(raw);

    private static readonly FrozenDictionary<string, string> CeleryEventTypes =
        new[] { "sent", "received", "started", "succeeded", "failed", "retried", "revoked", "rejected" }
            .ToFrozenDictionary(s => s, s => "task-" + s, StringComparer.Ordinal);

    /// <summary>The event's type; Celery's own types without a new string per event.</summary>
    private static string EventType(string subject) =>
        CeleryEventTypes.TryGetValue(subject, out var type) ? type : "task-" + subject;

    /// <summary>Celery's eta is an ISO 8601 string; without an offset it is taken as UTC.</summary>
    private static double? EtaEpoch(string raw) =>
        RawJson.AsString(raw) is { } text && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeMilliseconds() / 1000.0
            : null;
}
