using System.Text;
using Fabric.Plugins.Grpc;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Plugins.Tests.Grpc;

/// <summary>gRPC-Web-text bodies: base64 both ways, in any chunking, with padded runs mid-stream.</summary>
public sealed class GrpcWebStreamsTests
{
    [Fact]
    public void Decode_PaddedRunsAndWhitespaceInAnyChunking_TheOriginalBytes()
    {
        Gen<(byte[][] Runs, int Chunk)> cases =
            from runs in Gen.ArrayOf(Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>()))
            from chunk in Gen.Choose(1, 17)
            select (runs, chunk);
        Property property = Prop.ForAll(Arb.From(cases), c =>
        {
            string text = string.Join("\r\n", c.Runs.Select(Convert.ToBase64String)); // each run padded on its own
            var stream = new Base64DecodingStream(new ChunkedStream(Encoding.ASCII.GetBytes(text), c.Chunk));
            Assert.Equal(c.Runs.SelectMany(r => r).ToArray(), MessageLimitStreamTests.ReadAll(stream, 5));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    [Theory]
    [InlineData("AAA*")]
    [InlineData("AAAAA")]
    [InlineData("A===")]
    public void Decode_NotBase64OrCutInAGroup_IOException(string text)
    {
        var stream = new Base64DecodingStream(new MemoryStream(Encoding.ASCII.GetBytes(text)));

        Assert.Throws<IOException>(() => MessageLimitStreamTests.ReadAll(stream, 16));
    }

    [Fact]
    public void Decode_RandomBytes_OnlyEverIOException()
    {
        Property property = Prop.ForAll(Arb.From(Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>())), bytes =>
        {
            try
            {
                MessageLimitStreamTests.ReadAll(new Base64DecodingStream(new MemoryStream(bytes)), 7);
            }
            catch (IOException)
            {
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public async Task Encode_WritesAndFlushesInAnyPattern_DecodesGroupWiseToTheSameBytes()
    {
        Gen<(byte[] Data, int[] Cuts, bool[] Flushes)> cases =
            from data in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>())
            from cuts in Gen.ArrayOf(Gen.Choose(0, 20))
            from flushes in Gen.ArrayOf(ArbMap.Default.GeneratorFor<bool>())
            select (data, cuts, flushes);
        Property property = Prop.ForAll(Arb.From(cases), c =>
        {
            var output = new MemoryStream();
            var stream = new GrpcWebResponseStream(output, text: true);
            int position = 0;
            for (int i = 0; position < c.Data.Length; i++)
            {
                int length = Math.Min(c.Cuts.Length == 0 ? c.Data.Length : c.Cuts[i % c.Cuts.Length] + 1, c.Data.Length - position);
                stream.WriteAsync(c.Data.AsMemory(position, length)).AsTask().GetAwaiter().GetResult();
                position += length;
                if (c.Flushes.Length > 0 && c.Flushes[i % c.Flushes.Length])
                {
                    stream.FlushAsync().GetAwaiter().GetResult();
                }
            }

            stream.FlushAsync().GetAwaiter().GetResult();
            byte[] text = output.ToArray();
            Assert.Equal(0, text.Length % 4);
            Assert.Equal(c.Data, MessageLimitStreamTests.ReadAll(new Base64DecodingStream(new MemoryStream(text)), 11));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Encode_Binary_PassesBytesThrough()
    {
        var output = new MemoryStream();
        var stream = new GrpcWebResponseStream(output, text: false);

        await stream.WriteAsync(new byte[] { 0, 0, 0, 0, 1, 42 });
        await stream.FlushAsync();

        Assert.Equal(new byte[] { 0, 0, 0, 0, 1, 42 }, output.ToArray());
    }
}
