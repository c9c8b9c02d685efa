using System.Runtime.Serialization;
using System.Text.Json;
using ActorMonitor.Celery.Events;
using Akka.Actor;
using Akka.Serialization;

namespace ActorMonitor.Cluster.Receiver;

/// <summary>
/// What the receiver must remember across a restart, as of its last checkpoint: its counters
/// (counting only messages the checkpoint covered, so a message redelivered after a crash counts
/// once), its Lamport clock and arrival sequence, and the body hashes of the messages the last
/// two checkpoints acked (a redelivery of one of those is recognised and not counted again).
/// </summary>
public sealed record ReceiverCheckpoint(
    long Messages,
    long RejectedMessages,
    long AcceptedEvents,
    long RejectedEvents,
    long OtherEvents,
    long DuplicateEvents,
    long DuplicateMessages,
    long Clock,
    long Seq,
    double? LastLocalReceived,
    Dictionary<RejectionCause, long> RejectionsByCause,
    ulong[] AckedBodyHashes,
    ulong[] PreviousAckedBodyHashes)
{
    public static readonly ReceiverCheckpoint Empty = new(0, 0, 0, 0, 0, 0, 0, 0, 0, null, new(), [], []);

    /// <summary>Counts this receiver's checkpoints: of two copies (journal, store row) the higher one is newer.</summary>
    public long Cut { get; init; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this);

    public static ReceiverCheckpoint FromJson(byte[] json) =>
        JsonSerializer.Deserialize<ReceiverCheckpoint>(json) ?? throw new SerializationException("empty receiver checkpoint");
}

/// <summary>Stores <see cref="ReceiverCheckpoint"/> in the journal and snapshots as JSON (readable, and tolerant of added fields).</summary>
public sealed class CheckpointSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    private const string CheckpointManifest = "receiver-checkpoint-v1";

    public override int Identifier => 727_001;

    public override string Manifest(object o) => o is ReceiverCheckpoint
        ? CheckpointManifest
        : throw new ArgumentException($"cannot serialize {o.GetType()}");

    public override byte[] ToBinary(object obj) => ((ReceiverCheckpoint)obj).ToJson();

    public override object FromBinary(byte[] bytes, string manifest) => manifest == CheckpointManifest
        ? ReceiverCheckpoint.FromJson(bytes)
        : throw new SerializationException($"unknown manifest '{manifest}'");
}
