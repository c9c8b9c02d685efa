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

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("-0.0")]
    [InlineData("1700000000.123456")]
    [InlineData("1700000000.1234567")] // 17 digits: the general parse
    [InlineData("0.000123")]
    [InlineData("123456789012345")]
    [InlineData("1234567890123456789")]
    [InlineData("0.1")]
    [InlineData("2.5e-3")]
    [InlineData("1E+2")]
    [InlineData("-17.25")]
    [InlineData("999999999999999.9")]
    public void A_json_number_reads_as_the_double_the_general_parser_gives(string raw)
    {
        var expected = double.Parse(raw, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(RawJson.AsNumber(raw)!.Value));
    }

    [Fact]
    public void Timestamps_and_runtimes_of_every_width_read_exactly_as_the_general_parser_reads_them()
    {
        var random = new Random(20261206);
        for (var n = 0; n < 20_000; n++)
        {
            var digits = random.Next(1, 16);
            var text = random.NextInt64(0, (long)Math.Pow(10, digits)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var point = random.Next(0, text.Length + 1);
            var raw = (random.Next(4) == 0 ? "-" : "") + (point == 0 ? text : text[..point] + (point < text.Length ? "." + text[point..] : ""));
            var expected = double.Parse(raw, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(RawJson.AsNumber(raw)!.Value), raw);
        }
    }

    [Theory]
    [InlineData("-")]
    [InlineData("1.2.3")]
    [InlineData("12a")]
    [InlineData("\"1\"")]
    [InlineData("null")]
    public void Anything_but_a_json_number_reads_as_no_number(string raw) => Assert.Null(RawJson.AsNumber(raw));
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
