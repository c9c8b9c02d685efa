namespace ActorMonitor.Celery.State;

/// <summary>celery.states: state names and PRECEDENCE (a lower index is logically later).</summary>
public static class TaskStates
{
    public const string Pending = "PENDING";
    public const string Received = "RECEIVED";
    public const string Started = "STARTED";
    public const string Success = "SUCCESS";
    public const string Failure = "FAILURE";
    public const string Retry = "RETRY";
    public const string Revoked = "REVOKED";
    public const string Rejected = "REJECTED";

    // PRECEDENCE = [SUCCESS, FAILURE, None, REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING]
    private static readonly Dictionary<string, int> Lookup = new()
    {
        [Success] = 0, [Failure] = 1, [Revoked] = 3, [Started] = 4,
        [Received] = 5, [Rejected] = 6, [Retry] = 7, [Pending] = 8,
    };

    /// <summary>Index of unknown and custom states (and of None).</summary>
    public const int NonePrecedence = 2;

    public static int Precedence(string? state) =>
        state is not null && Lookup.TryGetValue(state, out var p) ? p : NonePrecedence;

    /// <summary>TASK_EVENT_TO_STATE: the eight subjects that set a same-named timestamp attribute.</summary>
    public static string? ForSubject(string subject) => subject switch
    {
        "sent" => Pending,
        "received" => Received,
        "started" => Started,
        "failed" => Failure,
        "retried" => Retry,
        "succeeded" => Success,
        "revoked" => Revoked,
        "rejected" => Rejected,
        _ => null,
    };
}
