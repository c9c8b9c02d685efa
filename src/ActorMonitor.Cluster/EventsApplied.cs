namespace ActorMonitor.Cluster;

/// <summary>
/// An entity applied its part of the receiver's delivery <paramref name="DeliveryId"/>.
/// <paramref name="Duplicates"/> lists the ids of events it had already applied (a redelivery):
/// those are not counted again.
/// </summary>
public sealed record EventsApplied(long DeliveryId, IReadOnlyList<ulong>? Duplicates = null);
