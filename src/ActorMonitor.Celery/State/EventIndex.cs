namespace ActorMonitor.Celery.State;

/// <summary>
/// The cluster-wide figures of Celery's State that no single entity holds: event_count,
/// task_count, task_types, the tasks_by_time heap, and which worker hostnames State would hold
/// (with their pid, which forms the heap's origin "hostname.pid"). Fed with every accepted event
/// in receiver order; never asks an entity.
/// </summary>
public sealed class EventIndex
{
    private readonly SortedSet<string> _taskTypes = new(StringComparer.Ordinal);
    // hostname -> (pid as announced, Celery's worker id "hostname.pid" that orders the heap)
    private readonly Dictionary<string, (string? Pid, string Origin)> _workers = new(StringComparer.Ordinal);

    public EventIndex(long maxTimelineEntries = long.MaxValue) => Timeline = new TaskTimeline(maxTimelineEntries);

    public long EventCount { get; private set; }
    public long TaskCount { get; private set; }
    public IReadOnlyCollection<string> TaskTypes => _taskTypes;
    public TaskTimeline Timeline { get; }
    public IReadOnlyCollection<string> WorkerHostnames => _workers.Keys;

    /// <summary>
    /// Rebuilds the index after a restart from what the stored rows hold: counters (sums over
    /// rows), task types, the workers with their pids, and the most recent task-heap marks in
    /// arrival order (inserted as Celery inserted them).
    /// </summary>
    public void Restore(long eventCount, long taskCount, IEnumerable<string> taskTypes,
        IEnumerable<(string Hostname, string? Pid)> workers, IEnumerable<(Durable.TimelineMark Mark, string Uuid)> marksInArrivalOrder)
    {
        EventCount = eventCount;
        TaskCount = taskCount;
        foreach (var t in taskTypes) _taskTypes.Add(t);
        foreach (var (hostname, pid) in workers) _workers[hostname] = (pid, WorkerId(hostname, pid));
        foreach (var (m, uuid) in marksInArrivalOrder)
        {
            var origin = m.IsClientEvent ? m.Hostname
                : _workers.TryGetValue(m.Hostname, out var w) ? w.Origin : WorkerId(m.Hostname, null);
            Timeline.Add(m.Clock, m.Timestamp, origin, uuid);
        }
    }

    private static string WorkerId(string hostname, string? pid) => hostname + "." + Events.RawJson.PythonStr(pid);

    public void Apply(IndexEntry e)
    {
        EventCount++;
        if (e.Group == "worker")
        {
            var known = _workers.TryGetValue(e.Hostname!, out var worker);
            if (!known && e.Subject == "offline") return; // Celery never stores that Worker
            var pid = e.Pid ?? worker.Pid;
            if (!known || pid != worker.Pid) _workers[e.Hostname!] = (pid, WorkerId(e.Hostname!, pid));
        }
        else if (e.Group == "task")
        {
            string origin;
            if (e.Subject == "sent")
            {
                origin = e.Hostname!;
            }
            else
            {
                if (!_workers.TryGetValue(e.Hostname!, out var worker))
                    _workers[e.Hostname!] = worker = (null, WorkerId(e.Hostname!, null));
                origin = worker.Origin;
            }
            Timeline.Add(e.Clock, e.Timestamp, origin, e.Uuid!);
            if (e.Subject == "received") TaskCount++;
            if (e.TaskName is not null) _taskTypes.Add(e.TaskName);
        }
    }
}
