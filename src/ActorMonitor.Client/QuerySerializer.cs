using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace ActorMonitor.Client;

/// <summary>The wire format of the public query messages, shared by monitor nodes and client systems.</summary>
public sealed class QuerySerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => 727_002;

    public override string Manifest(object o) => o switch
    {
        GetTask => "gt",
        TaskReply => "tr",
        GetWorker => "gw",
        WorkerReply => "wr",
        _ => throw new ArgumentException($"cannot serialize {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj) => Wire.Write(w =>
    {
        switch (obj)
        {
            case GetTask m:
                w.Write(m.Uuid);
                break;
            case TaskReply m:
                w.Write(m.Uuid);
                w.WriteTask(m.Task);
                break;
            case GetWorker m:
                w.Write(m.Hostname);
                w.Write(m.AsOf);
                break;
            case WorkerReply m:
                w.Write(m.Hostname);
                w.WriteWorker(m.Worker);
                break;
            default:
                throw new ArgumentException($"cannot serialize {obj.GetType()}");
        }
    });

    public override object FromBinary(byte[] bytes, string manifest) => Wire.Read<object>(bytes, r => manifest switch
    {
        "gt" => new GetTask(r.ReadString()),
        "tr" => new TaskReply(r.ReadString(), r.ReadTask()),
        "gw" => new GetWorker(r.ReadString(), r.ReadDouble()),
        "wr" => new WorkerReply(r.ReadString(), r.ReadWorker()),
        _ => throw new SerializationException($"unknown manifest '{manifest}'"),
    });
}
