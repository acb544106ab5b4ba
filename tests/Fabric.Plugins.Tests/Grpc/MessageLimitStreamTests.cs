using System.Buffers.Binary;
using Fabric.Plugins.Grpc;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Plugins.Tests.Grpc;

/// <summary>The request-body guard: passes every byte unchanged, however the frames are split, and stops at the first oversize message.</summary>
public sealed class MessageLimitStreamTests
{
    [Fact]
    public async Task Read_MessagesUpToTheLimit_PassUnchangedAtAnyChunking()
    {
        Gen<(int[] Sizes, int Chunk)> cases =
            from sizes in Gen.ArrayOf(Gen.Choose(0, 100))
            from chunk in Gen.Choose(1, 64)
            select (sizes, chunk);
        Property property = Prop.ForAll(Arb.From(cases), c =>
        {
            byte[] body = Frames(c.Sizes);
            var stream = new MessageLimitStream(new ChunkedStream(body, c.Chunk), maxMessageBytes: 100);
            byte[] read = ReadAll(stream, 7);
            Assert.Equal(body, read);
            Assert.Equal(body.Length, stream.BytesRead);
            Assert.Equal(0, stream.Exceeded);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
        await Task.CompletedTask;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(4096)]
    public async Task Read_MessageOneByteOverTheLimit_FailsWithoutHandingOverItsPrefix(int chunk)
    {
        byte[] body = Frames([10, 101, 5]);
        var stream = new MessageLimitStream(new ChunkedStream(body, chunk), maxMessageBytes: 100);
        var handed = new MemoryStream();

        MessageTooLargeException error = await Assert.ThrowsAsync<MessageTooLargeException>(async () =>
        {
            byte[] buffer = new byte[chunk];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                handed.Write(buffer, 0, n);
            }
        });

        Assert.Equal(101, stream.Exceeded);
        Assert.Contains("101 bytes", error.Message, StringComparison.Ordinal);
        Assert.True(handed.Length < 15 + 5, $"{handed.Length} bytes were handed over; the first message and at most 4 prefix bytes may be");
        await Assert.ThrowsAsync<MessageTooLargeException>(async () => _ = await stream.ReadAsync(new byte[10]));
    }

    [Fact]
    public void Read_LyingLengthUpTo4GiB_FailsAtThePrefix()
    {
        byte[] prefix = new byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(1), uint.MaxValue);
        var stream = new MessageLimitStream(new MemoryStream(prefix), maxMessageBytes: 4 * 1024 * 1024);

        Assert.Throws<MessageTooLargeException>(() => stream.Read(new byte[16], 0, 16));
        Assert.Equal(uint.MaxValue, stream.Exceeded);
    }

    [Fact]
    public void Read_RandomBytes_OnlyEverMessageTooLarge()
    {
        Property property = Prop.ForAll(Arb.From(Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>())), bytes =>
        {
            var stream = new MessageLimitStream(new MemoryStream(bytes), maxMessageBytes: 64);
            try
            {
                ReadAll(stream, 3);
            }
            catch (MessageTooLargeException)
            {
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    internal static byte[] Frames(int[] sizes)
    {
        var body = new MemoryStream();
        foreach (int size in sizes)
        {
            byte[] prefix = new byte[5];
            BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(1), (uint)size);
            body.Write(prefix);
            body.Write(Enumerable.Range(0, size).Select(i => (byte)(i * 31)).ToArray());
        }

        return body.ToArray();
    }

    internal static byte[] ReadAll(Stream stream, int bufferSize)
    {
        var all = new MemoryStream();
        byte[] buffer = new byte[bufferSize];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            all.Write(buffer, 0, n);
        }

        return all.ToArray();
    }
}

/// <summary>Hands out its bytes at most <c>chunk</c> at a time, as a network would.</summary>
internal sealed class ChunkedStream(byte[] data, int chunk) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => data.Length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Math.Min(Math.Min(count, chunk), data.Length - _position);
        Array.Copy(data, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = Math.Min(Math.Min(buffer.Length, chunk), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer.Span);
        _position += n;
        return ValueTask.FromResult(n);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
