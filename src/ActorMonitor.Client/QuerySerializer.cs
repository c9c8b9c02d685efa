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
        GetTasks => "gts",
        TasksReply => "tsr",
        GetCounts => "gc",
        CountsReply => "cr",
        GetWorkers => "gws",
        WorkersReply => "wsr",
        GetStats => "gs",
        StatsReply => "sr",
        QueryFailed => "qf",
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
            case GetTasks m:
                WriteFilter(w, m);
                w.Write(m.Sort);
                w.Write(m.Descending);
                w.Write(m.Limit);
                w.Write(m.Offset);
                break;
            case TasksReply m:
                w.Write(m.Total);
                w.Write(m.Limit);
                w.Write(m.Offset);
                w.Write(m.Tasks.Count);
                foreach (var t in m.Tasks) w.WriteTask(t);
                break;
            case GetCounts m:
                WriteFilter(w, m);
                break;
            case CountsReply m:
                w.Write(m.Total);
                w.WriteCounts(m.ByState);
                w.WriteCounts(m.ByName);
                w.WriteCounts(m.ByWorker);
                break;
            case GetWorkers m:
                w.Write(m.AsOf);
                break;
            case WorkersReply m:
                w.Write(m.Workers.Count);
                foreach (var wk in m.Workers) w.WriteWorker(wk);
                break;
            case GetStats:
                break;
            case StatsReply m:
                w.Write(m.Node);
                w.Write(m.Messages);
                w.Write(m.Rejected);
                w.Write(m.AcceptedEvents);
                w.Write(m.RejectedEvents);
                w.Write(m.Clock);
                w.Write(m.InFlight);
                w.Write(m.DuplicateEvents);
                w.Write(m.DuplicateMessages);
                w.Write(m.AwaitingCheckpoint);
                w.Write(m.CheckpointFailures);
                var s = m.Store;
                w.Write(s.Journal);
                w.Write(s.LiveTasks);
                w.Write(s.LiveWorkers);
                w.Write(s.Dirty);
                w.Write(s.Commits);
                w.Write(s.RowsWritten);
                w.Write(s.CommitSeconds);
                w.Write(s.FailedCommits);
                w.Write(s.Passivations);
                w.Write(s.RowsLoaded);
                w.Write(s.Failing);
                w.WriteNullable(s.LastError);
                w.WriteCounts(m.Rejections);
                w.Write(m.RelayedEvents);
                break;
            case QueryFailed m:
                w.Write(m.Error);
                w.Write(m.Invalid);
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
        "gts" => ReadFilter(r, new GetTasks()) with { Sort = r.ReadString(), Descending = r.ReadBoolean(), Limit = r.ReadInt32(), Offset = r.ReadInt32() },
        "tsr" => new TasksReply(r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), ReadList(r, () => r.ReadTask()!)),
        "gc" => ReadFilter(r, new GetCounts()),
        "cr" => new CountsReply(r.ReadInt64(), r.ReadCounts(), r.ReadCounts(), r.ReadCounts()),
        "gws" => new GetWorkers(r.ReadDouble()),
        "wsr" => new WorkersReply(ReadList(r, () => r.ReadWorker()!)),
        "gs" => GetStats.Instance,
        "sr" => new StatsReply(r.ReadString(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt32(),
            r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(),
            new StoreStats(r.ReadString(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt64(), r.ReadInt64(), r.ReadDouble(),
                r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadBoolean(), r.ReadNullable()),
            r.ReadCounts())
        {
            // Older nodes end here.
            RelayedEvents = r.BaseStream.Position < r.BaseStream.Length ? r.ReadInt64() : 0,
        },
        "qf" => new QueryFailed(r.ReadString(), r.ReadBoolean()),
        _ => throw new SerializationException($"unknown manifest '{manifest}'"),
    });

    private static void WriteFilter(BinaryWriter w, TaskFilter f)
    {
        w.WriteNullable(f.State);
        w.WriteNullable(f.Name);
        w.WriteNullable(f.Worker);
        w.Write(f.TimeField);
        w.WriteNullable(f.Since);
        w.WriteNullable(f.Until);
        w.WriteNullable(f.Search);
        w.Write(f.Fresh);
    }

    // In the order WriteFilter writes them (C# evaluates initializers left to right).
    private static T ReadFilter<T>(BinaryReader r, T empty) where T : TaskFilter => empty with
    {
        State = r.ReadNullable(),
        Name = r.ReadNullable(),
        Worker = r.ReadNullable(),
        TimeField = r.ReadString(),
        Since = r.ReadNullableDouble(),
        Until = r.ReadNullableDouble(),
        Search = r.ReadNullable(),
        Fresh = r.ReadBoolean(),
    };

    private static T[] ReadList<T>(BinaryReader r, Func<T> read)
    {
        var items = new T[r.ReadInt32()];
        for (var i = 0; i < items.Length; i++) items[i] = read();
        return items;
    }
}
