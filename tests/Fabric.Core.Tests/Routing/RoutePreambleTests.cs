using System.Net;
using Fabric.Core.Routing;
using Fabric.Core.Subprotocols;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Fabric.Core.Tests.Routing;

/// <summary>The route preamble (docs/PROTOCOL.md §3.5): exact bytes, round trips, version 1, and what a liar can send.</summary>
public sealed class RoutePreambleTests
{
    private static readonly SubprotocolVersion V10 = new(1, 0);

    [Fact]
    public void Encode_WithInstanceAndIPv4Source_KnownBytes()
    {
        var preamble = new RoutePreamble(0x0101, new SubprotocolVersion(1, 2), V10, "svc", new IPEndPoint(IPAddress.Parse("10.1.2.3"), 443), "r1");

        byte[] expected =
        [
            2, 0x01, 0x01, 1, 2, 1, 0, 3, (byte)'s', (byte)'v', (byte)'c', 2, (byte)'r', (byte)'1', 4, 10, 1, 2, 3, 0x01, 0xBB,
        ];
        Assert.Equal(expected, preamble.Encode());
    }

    [Fact]
    public async Task Read_Version1WithoutInstance_AnyInstance()
    {
        byte[] v1 = [1, 0x01, 0x00, 1, 0, 1, 0, 4, (byte)'d', (byte)'e', (byte)'m', (byte)'o', 0, 0, 0];

        RoutePreamble read = await RoutePreamble.ReadAsync(new MemoryStream(v1), CancellationToken.None);

        Assert.Equal(new RoutePreamble(0x0100, V10, V10, "demo", null, ""), read);
    }

    [Fact]
    public void RoundTrip_AnyServiceInstanceAndSource_ReadsBackEqual()
    {
        Gen<string> name = Gen.Elements("a", "svc", "grpc.testing.TestService", "ünïcødé", new string('x', 255));
        Gen<string> instance = Gen.Elements("", "r1", "node-a", "инстанс", new string('i', 255));
        Gen<IPEndPoint?> source = Gen.Elements<IPEndPoint?>(null, new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.IPv6Loopback, 65535));
        Gen<RoutePreamble> preambles =
            from id in Gen.Choose(0, 65535)
            from s in name
            from i in instance
            from src in source
            select new RoutePreamble((ushort)id, V10, V10, s, src, i);
        Property property = Prop.ForAll(Arb.From(preambles), p =>
        {
            RoutePreamble back = RoutePreamble.ReadAsync(new MemoryStream(p.Encode()), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return back == p && back.Encode().Length <= RoutePreamble.MaxSize;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void Encode_InstanceLongerThan255Bytes_Refused()
    {
        var preamble = new RoutePreamble(0x0100, V10, V10, "svc", null, new string('i', 256));

        Assert.Throws<ArgumentException>(() => preamble.Encode());
    }

    [Theory]
    [InlineData(new byte[] { 3, 0, 1, 1, 0, 1, 0, 1, (byte)'s', 0, 0, 0, 0 }, "version")]
    [InlineData(new byte[] { 2, 0, 1, 1, 0, 1, 0, 1, (byte)'s', 0, 5, 1, 2, 3, 4, 5, 0, 0 }, "address")]
    [InlineData(new byte[] { 2, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0 }, "service")]
    [InlineData(new byte[] { 2, 0, 1, 1, 0, 1, 0, 1, (byte)'s', 1, 0xFF, 0, 0, 0 }, "UTF-8")]
    public async Task Read_MalformedPreamble_FormatExceptionNamingTheField(byte[] bytes, string field)
    {
        FormatException error = await Assert.ThrowsAsync<FormatException>(() => RoutePreamble.ReadAsync(new MemoryStream(bytes), CancellationToken.None).AsTask());

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_EveryTruncation_EndOfStreamNeverAHang()
    {
        byte[] whole = new RoutePreamble(0x0101, V10, V10, "svc", new IPEndPoint(IPAddress.IPv6Loopback, 80), "r2").Encode();
        for (int length = 0; length < whole.Length; length++)
        {
            await Assert.ThrowsAsync<EndOfStreamException>(() => RoutePreamble.ReadAsync(new MemoryStream(whole[..length]), CancellationToken.None).AsTask());
        }
    }
}
