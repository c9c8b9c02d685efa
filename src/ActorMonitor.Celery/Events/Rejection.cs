namespace ActorMonitor.Celery.Events;

/// <summary>Why an event or a whole message was refused (DECISIONS.md: reject, count, log once per cause).</summary>
public enum RejectionCause
{
    NotJson,
    TooLarge,
    NotAnEvent,
    MissingType,
    MissingField,
    IllTypedField,
    NonFiniteNumber,
    IdTooLong,
    NullClock,
    ReservedField,
    UnsupportedKombuType,
    BadCaptureLine,
}

public sealed record Rejection(RejectionCause Cause, string Detail)
{
    public override string ToString() => $"{Cause}: {Detail}";
}
