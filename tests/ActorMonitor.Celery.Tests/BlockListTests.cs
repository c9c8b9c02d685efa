using ActorMonitor.Celery.State;

namespace ActorMonitor.Celery.Tests;

public class BlockListTests
{
    [Fact]
    public void Behaves_like_a_list_under_random_inserts_appends_and_removals()
    {
        var rnd = new Random(7);
        var expected = new List<int>();
        var actual = new BlockList<int>();
        for (var i = 0; i < 20_000; i++)
        {
            var op = rnd.Next(10);
            if (op < 4) { expected.Add(i); actual.Add(i); }
            else if (op < 9) { var at = rnd.Next(expected.Count + 1); expected.Insert(at, i); actual.Insert(at, i); }
            else if (expected.Count > 0) { expected.RemoveAt(0); actual.RemoveFirst(); }
        }
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i += 97) Assert.Equal(expected[i], actual[i]);
        Assert.Equal(Enumerable.Reverse(expected), actual.Reversed());
        Assert.Equal(expected[^1], actual.Last);
    }

    [Fact]
    public void Out_of_range_index_throws()
    {
        var list = new BlockList<int>();
        list.Add(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => list[1]);
    }
}
