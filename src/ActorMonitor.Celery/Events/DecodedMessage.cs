namespace ActorMonitor.Celery.Events;

/// <summary>One broker message after decoding: its valid events in order, and what was refused.</summary>
public sealed record DecodedMessage(IReadOnlyList<CeleryEvent> Events, IReadOnlyList<Rejection> Rejections)
{
    public static readonly DecodedMessage Empty = new([], []);

    public bool HasRejections => Rejections.Count > 0;

    /// <summary>Hash of the whole body (0 when it was refused before reading): recognises a redelivery of a message already made durable.</summary>
    public ulong BodyHash { get; init; }

    public static DecodedMessage Rejected(RejectionCause cause, string detail) => new([], [new Rejection(cause, detail)]);
}
