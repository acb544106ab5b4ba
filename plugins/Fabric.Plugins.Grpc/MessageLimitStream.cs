using System.Buffers.Binary;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// The request body as the forwarder reads it, checked message by message: a message longer than the limit fails
/// the read (the call then ends with RESOURCE_EXHAUSTED) before its bytes go anywhere. Counts the bytes read, so the
/// ingress knows whether any of the call was sent (only then is trying another replica unsafe).
/// </summary>
internal sealed class MessageLimitStream(Stream inner, int maxMessageBytes) : Stream
{
    private readonly byte[] _prefix = new byte[GrpcWire.PrefixLength];
    private int _prefixFilled;
    private long _messageLeft;

    /// <summary>Bytes handed to the forwarder.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Length of the message that broke the limit, or 0.</summary>
    public long Exceeded { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Exceeded > 0)
        {
            throw Fail();
        }

        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Inspect(buffer.Span[..n]);
        BytesRead += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private void Inspect(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_messageLeft > 0)
            {
                int skip = (int)Math.Min(_messageLeft, data.Length);
                _messageLeft -= skip;
                data = data[skip..];
                continue;
            }

            int take = Math.Min(GrpcWire.PrefixLength - _prefixFilled, data.Length);
            data[..take].CopyTo(_prefix.AsSpan(_prefixFilled));
            _prefixFilled += take;
            data = data[take..];
            if (_prefixFilled == GrpcWire.PrefixLength)
            {
                _prefixFilled = 0;
                _messageLeft = BinaryPrimitives.ReadUInt32BigEndian(_prefix.AsSpan(1));
                if (_messageLeft > maxMessageBytes)
                {
                    Exceeded = _messageLeft;
                    throw Fail();
                }
            }
        }
    }

    private MessageTooLargeException Fail() => new MessageTooLargeException(Exceeded, maxMessageBytes);
}

/// <summary>A request message is larger than the configured limit.</summary>
internal sealed class MessageTooLargeException(long length, int limit)
    : IOException($"a request message of {length} bytes is larger than the limit of {limit} bytes");
