using ActorMonitor.Cluster.Metrics;

namespace ActorMonitor.Cluster.Tests;

public class LiveFeedTests
{
    private const string A = "akka.tcp://actormonitor@127.0.0.1:4053";
    private const string B = "akka.tcp://actormonitor@127.0.0.1:4054";

    [Fact]
    public void Every_member_reaches_once_each_up_member_was_heard()
    {
        var reach = new FeedReach();
        Assert.True(reach.EveryMemberReaches); // no member up yet: nothing to wait for

        reach.Heard(A); // its own presence, before the node is up
        reach.MemberUp(A);
        Assert.True(reach.EveryMemberReaches);

        reach.MemberUp(B);
        Assert.False(reach.EveryMemberReaches);
        reach.Heard(B);
        Assert.True(reach.EveryMemberReaches);
    }

    [Fact]
    public void A_member_that_comes_back_at_the_same_address_must_be_heard_again()
    {
        var reach = new FeedReach();
        reach.MemberUp(A);
        reach.Heard(A);
        reach.MemberUp(B);
        reach.Heard(B);

        reach.MemberRemoved(B);
        Assert.True(reach.EveryMemberReaches);
        reach.MemberUp(B);
        Assert.False(reach.EveryMemberReaches);
        reach.Heard(B);
        Assert.True(reach.EveryMemberReaches);
    }

    [Fact]
    public void Presence_of_a_member_not_up_does_not_count_for_one_that_is()
    {
        var reach = new FeedReach();
        reach.Heard(B);
        reach.MemberUp(A);
        Assert.False(reach.EveryMemberReaches);
    }

    [Fact]
    public async Task A_listener_waits_until_every_member_reaches_or_the_time_runs_out()
    {
        var feed = new LiveFeed();
        Assert.True(await feed.EveryMemberReachesAsync(TimeSpan.FromSeconds(5), CancellationToken.None));

        feed.SetEveryMemberReaches(false);
        Assert.False(await feed.EveryMemberReachesAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));

        var waiting = feed.EveryMemberReachesAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        feed.SetEveryMemberReaches(false); // still not: the same wait goes on
        Assert.False(waiting.IsCompleted);
        feed.SetEveryMemberReaches(true);
        Assert.True(await waiting);

        using var cancel = new CancellationTokenSource();
        feed.SetEveryMemberReaches(false);
        var cancelled = feed.EveryMemberReachesAsync(TimeSpan.FromSeconds(30), cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
    }
}
