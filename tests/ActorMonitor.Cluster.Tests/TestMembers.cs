using System.Collections.Immutable;
using System.Reflection;
using Akka.Actor;
using Akka.Cluster;
using Akka.Util;

namespace ActorMonitor.Cluster.Tests;

/// <summary>Cluster members for the membership events a spec sends by hand (Akka makes them through internal factories only).</summary>
internal static class TestMembers
{
    public static Member Removed(string address, params string[] roles) => WithStatus(address, MemberStatus.Removed, roles);

    public static Member WithStatus(string address, MemberStatus status, params string[] roles)
    {
        var create = typeof(Member).GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .First(m => m.Name == "Create" && m.GetParameters().Length == 3);
        var member = (Member)create.Invoke(null, [new UniqueAddress(Address.Parse(address), 1), roles.ToImmutableHashSet(), AppVersion.Zero])!;
        var copy = typeof(Member).GetMethod("Copy", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, [typeof(MemberStatus)])!;
        return (Member)copy.Invoke(member, [status])!;
    }
}
