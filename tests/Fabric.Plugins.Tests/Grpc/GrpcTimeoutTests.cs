using Fabric.Plugins.Grpc;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Plugins.Tests.Grpc;

/// <summary>grpc-timeout (PROTOCOL-HTTP2.md: 1..8 digits and a unit): what is accepted, and that a deadline passed on never grows.</summary>
public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("100m", 1_000_000L)]
    [InlineData("250u", 2_500L)]
    [InlineData("1000n", 10L)]
    [InlineData("99n", 0L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    [InlineData("00000005m", 50_000L)]
    public void TryParse_ValidValue_Ticks(string text, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(text, out TimeSpan timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("1 S")]
    [InlineData("123456789S")]
    [InlineData("1.5S")]
    public void TryParse_MalformedValue_False(string text) => Assert.False(GrpcTimeout.TryParse(text, out _));

    [Theory]
    [InlineData(0L, "0n")]
    [InlineData(10L, "1000n")]
    [InlineData(1_000_000L, "100000u")]
    [InlineData(10_000_000_000L, "1000000m")]
    [InlineData(36_000_000_000_000L, "3600000S")]
    public void Format_PicksTheFinestUnitThatFits(long ticks, string expected) => Assert.Equal(expected, GrpcTimeout.Format(TimeSpan.FromTicks(ticks)));

    [Fact]
    public void Format_AnyTimeout_ParsesBackNeverLongerAndLosesUnderOnePartIn100000()
    {
        Gen<long> ticks =
            from value in Gen.Choose(0, int.MaxValue)
            from scale in Gen.Elements(1L, 7L, 1_000L, 1_000_003L)
            select value * scale;
        Property property = Prop.ForAll(Arb.From(ticks), t =>
        {
            TimeSpan timeout = TimeSpan.FromTicks(t);
            string text = GrpcTimeout.Format(timeout);
            Assert.True(text.Length <= 9, text);
            Assert.True(GrpcTimeout.TryParse(text, out TimeSpan back), text);
            Assert.True(back <= timeout, $"{text} is longer than {timeout}");
            Assert.True((timeout - back).Ticks * 100_000 <= timeout.Ticks, $"{text} lost too much of {timeout}");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void Format_Negative_Zero() => Assert.Equal("0n", GrpcTimeout.Format(TimeSpan.FromSeconds(-3)));
}
