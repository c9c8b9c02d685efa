namespace ActorMonitor.Cluster;

/// <summary>An entity's acknowledgement that the events of one receiver delivery are applied.</summary>
public sealed record EventsApplied(long DeliveryId);
