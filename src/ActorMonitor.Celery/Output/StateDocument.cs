using System.Text.Json;
using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Output;

/// <summary>
/// The state JSON of the oracle's schema (what celery_reference.py prints), plus "rejected":
/// keys sorted as Python's json.dump(sort_keys=True) writes them. <see cref="Tasks"/> come in
/// ordinal uuid order and are enumerated once, while writing: a million of them are streamed
/// from the store, never held in memory together.
/// </summary>
public sealed record StateDocument(
    double AsOf,
    long Messages,
    long Rejected,
    long EventCount,
    long TaskCount,
    IReadOnlyList<string> TaskTypes,
    IEnumerable<TaskSnapshot> Tasks,
    IReadOnlyList<WorkerSnapshot> Workers,
    IReadOnlyList<string> TasksByTime)
{
    public IReadOnlyList<string> AliveWorkers =>
        Workers.Where(w => w.Alive).Select(w => w.Hostname).Order(StringComparer.Ordinal).ToList();

    public void WriteTo(Stream stream, bool indented = true) => WriteToAsync(stream, indented).GetAwaiter().GetResult();

    public async Task WriteToAsync(Stream stream, bool indented = true, CancellationToken ct = default)
    {
        await using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, SkipValidation = false });
        w.WriteStartObject();
        w.WritePropertyName("alive_workers");
        WriteStrings(w, AliveWorkers);
        w.WriteNumber("as_of", AsOf);
        w.WriteNumber("event_count", EventCount);
        w.WriteNumber("messages", Messages);
        w.WriteNumber("rejected", Rejected);
        w.WriteNumber("task_count", TaskCount);
        w.WritePropertyName("task_types");
        WriteStrings(w, TaskTypes);
        w.WriteStartObject("tasks");
        foreach (var t in Tasks)
        {
            w.WritePropertyName(t.Uuid);
            WriteTask(w, t);
            if (w.BytesPending > 64 * 1024) await w.FlushAsync(ct);
        }
        w.WriteEndObject();
        w.WritePropertyName("tasks_by_time");
        WriteStrings(w, TasksByTime);
        w.WriteStartObject("workers");
        foreach (var wk in Workers.OrderBy(x => x.Hostname, StringComparer.Ordinal))
        {
            w.WritePropertyName(wk.Hostname);
            WriteWorker(w, wk);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        await w.FlushAsync(ct);
    }

    public static void WriteTask(Utf8JsonWriter w, TaskSnapshot t)
    {
        var props = new SortedDictionary<string, Action>(StringComparer.Ordinal)
        {
            ["uuid"] = () => w.WriteStringValue(t.Uuid),
            ["worker"] = () => { if (t.Worker is null) w.WriteNullValue(); else w.WriteStringValue(t.Worker); },
            ["children"] = () => WriteStrings(w, t.Children),
        };
        WriteSorted(w, props, t.Fields);
    }

    public static void WriteWorker(Utf8JsonWriter w, WorkerSnapshot wk)
    {
        var props = new SortedDictionary<string, Action>(StringComparer.Ordinal)
        {
            ["alive"] = () => w.WriteBooleanValue(wk.Alive),
            ["heartbeats"] = () =>
            {
                w.WriteStartArray();
                foreach (var h in wk.Heartbeats) w.WriteNumberValue(h);
                w.WriteEndArray();
            },
        };
        WriteSorted(w, props, wk.Fields);
    }

    // One object, keys sorted as json.dump(sort_keys=True): the typed properties and the raw fields.
    private static void WriteSorted(Utf8JsonWriter w, SortedDictionary<string, Action> props, IEnumerable<KeyValuePair<string, string?>> rawFields)
    {
        foreach (var kv in rawFields)
        {
            var raw = kv.Value;
            props[kv.Key] = () => w.WriteRawValue(raw ?? "null", skipInputValidation: true);
        }
        w.WriteStartObject();
        foreach (var (name, write) in props)
        {
            w.WritePropertyName(name);
            write();
        }
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, IEnumerable<string> values)
    {
        w.WriteStartArray();
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
