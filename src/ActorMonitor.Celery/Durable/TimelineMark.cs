namespace ActorMonitor.Celery.Durable;

/// <summary>
/// What Celery's task heap holds of one task event, kept with the task so the bounded
/// tasks_by_time heap can be rebuilt after a restart: <see cref="Seq"/> is the receiver's
/// arrival order, which is the order Celery inserted entries in.
/// </summary>
public readonly record struct TimelineMark(long Clock, double Timestamp, string Hostname, bool IsClientEvent, long Seq);
