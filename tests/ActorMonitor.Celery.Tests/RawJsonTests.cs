using System.Text.Json;
using ActorMonitor.Celery.Durable;
using ActorMonitor.Celery.Events;

namespace ActorMonitor.Celery.Tests;

public class RawJsonTests
{
    [Theory]
    [InlineData("\"tasks.add\"", "tasks.add")]
    [InlineData("\"\"", "")]
    [InlineData("\"a\\\"b\"", "a\"b")]
    [InlineData("\"caf\\u00e9 \\\\ \\n\"", "café \\ \n")]
    [InlineData("\"caf\u00e9\"", "caf\u00e9")]
    public void A_json_string_value_reads_as_its_text_with_or_without_escapes(string raw, string expected)
    {
        Assert.Equal(expected, RawJson.AsString(raw));
        Assert.Equal(JsonSerializer.Deserialize<string>(raw), RawJson.AsString(raw));
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("null")]
    [InlineData("[\"a\"]")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_but_a_json_string_reads_as_null(string? raw) => Assert.Null(RawJson.AsString(raw));
}

public class RowFormatTests
{
    [Fact]
    public void Rows_written_one_after_another_and_one_inside_another_keep_their_own_bytes()
    {
        var big = new string('x', 5000);
        var first = RowFormat.Write(w => w.Write(big));
        byte[]? inner = null;
        var outer = RowFormat.Write(w =>
        {
            w.Write("outer");
            inner = RowFormat.Write(v => v.Write("inner"));
            w.Write(42);
        });
        var small = RowFormat.Write(w => w.Write("s"));

        Assert.Equal(big, RowFormat.Read(first, r => r.ReadString()));
        Assert.Equal(("outer", 42), RowFormat.Read(outer, r => (r.ReadString(), r.ReadInt32())));
        Assert.Equal("inner", RowFormat.Read(inner!, r => r.ReadString()));
        Assert.Equal("s", RowFormat.Read(small, r => r.ReadString()));
        Assert.Equal(1 + 1 + 1, small.Length); // version, length prefix, one char: nothing left of the longer rows
    }

    [Fact]
    public void A_row_whose_writer_threw_leaves_nothing_in_the_next()
    {
        Assert.Throws<InvalidOperationException>(() => RowFormat.Write(w =>
        {
            w.Write("half a row");
            throw new InvalidOperationException("boom");
        }));
        var next = RowFormat.Write(w => w.Write(7));
        Assert.Equal(1 + 4, next.Length);
        Assert.Equal(7, RowFormat.Read(next, r => r.ReadInt32()));
    }
}
