using Fabric.Abstractions;

namespace Fabric.Plugins.Shared;

/// <summary>
/// A fabric connection's stream for code that owns a <see cref="Stream"/> (SocketsHttpHandler's ConnectCallback):
/// disposing the stream disposes the connection, then tells <paramref name="onDisposed"/>.
/// </summary>
internal sealed class FabricConnectionStream(FabricConnection connection, Action<FabricConnectionStream>? onDisposed = null) : Stream
{
    private readonly Stream _inner = connection.Stream;

    public FabricConnection Connection => connection;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override void Flush() => _inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
            onDisposed?.Invoke(this);
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await connection.DisposeAsync().ConfigureAwait(false);
        onDisposed?.Invoke(this);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
