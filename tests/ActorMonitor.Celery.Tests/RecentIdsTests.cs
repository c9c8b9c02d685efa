using ActorMonitor.Celery.Durable;

namespace ActorMonitor.Celery.Tests;

public class RecentIdsTests
{
    [Fact]
    public void Recognises_ids_in_the_window_and_forgets_the_oldest_beyond_it()
    {
        var ids = new RecentIds(capacity: 100);
        for (ulong i = 1; i <= 150; i++) Assert.True(ids.Add(i));
        Assert.Equal(100, ids.Count);
        Assert.False(ids.Add(150)); // seen
        Assert.False(ids.Contains(50)); // forgotten: beyond the window
        Assert.True(ids.Contains(51));
        Assert.True(ids.Add(50)); // new again
        Assert.False(ids.Contains(51));
    }

    [Fact]
    public void Zero_is_no_id_and_never_a_duplicate()
    {
        var ids = new RecentIds(8);
        Assert.True(ids.Add(0));
        Assert.True(ids.Add(0));
        Assert.Equal(0, ids.Count);
    }

    [Fact]
    public void Round_trips_through_a_row_in_order()
    {
        var ids = new RecentIds(40);
        for (ulong i = 1; i <= 60; i++) ids.Add(i * 7);
        var bytes = RowFormat.Write(ids.Write);
        var back = RowFormat.Read(bytes, r => { var x = new RecentIds(40); x.Read(r); return x; });
        Assert.Equal(40, back.Count);
        Assert.True(back.Contains(60 * 7));
        Assert.False(back.Contains(20 * 7));
        Assert.False(back.Add(21 * 7));
    }

    [Theory]
    [InlineData(3)]   // the ring not yet full
    [InlineData(40)]  // exactly full
    [InlineData(57)]  // wrapped: the oldest id is in the middle of the ring
    public void A_row_holds_the_count_then_each_id_oldest_first_as_binary_writer_writes_them(int added)
    {
        var ids = new RecentIds(40);
        for (ulong i = 1; i <= (ulong)added; i++) ids.Add(i * 1_000_003);
        var expected = new MemoryStream();
        using (var w = new BinaryWriter(expected))
        {
            w.Write(RowFormat.Version);
            var kept = Math.Min(added, 40);
            w.Write(kept);
            for (var i = added - kept + 1; i <= added; i++) w.Write((ulong)i * 1_000_003);
        }
        Assert.Equal(expected.ToArray(), RowFormat.Write(ids.Write));
    }
}
