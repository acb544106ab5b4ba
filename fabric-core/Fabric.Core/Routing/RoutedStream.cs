using Fabric.Core.Discovery;

namespace Fabric.Core.Routing;

/// <summary>A stream to one replica of a service, with the route it took. Disposing it closes the stream.</summary>
public sealed class RoutedStream : Stream, Links.IHalfCloseable
{
    private readonly Stream _inner;
    private readonly Action<Sessions.FabricErrorCode>? _abort;

    internal RoutedStream(Stream inner, ReplicaRoute route, bool relayed, Action<Sessions.FabricErrorCode>? abort)
    {
        _inner = inner;
        Route = route;
        Relayed = relayed;
        _abort = abort;
    }

    /// <summary>The replica reached and the path to it.</summary>
    public ReplicaRoute Route { get; }

    /// <summary>The replica's key (origin/instance).</summary>
    public string Replica => Route.Key;

    /// <summary>True when the stream goes through relays (end-to-end encrypted inside).</summary>
    public bool Relayed { get; }

    /// <summary>Resets the stream with <paramref name="code"/>.</summary>
    public void Abort(Sessions.FabricErrorCode code = Sessions.FabricErrorCode.Cancel)
    {
        if (_abort is not null)
        {
            _abort(code);
        }
        else
        {
            _inner.Dispose();
        }
    }

    /// <summary>Ends this side's writing; the replica reads end of stream.</summary>
    public void CompleteWrites()
    {
        if (_inner is Links.IHalfCloseable halfCloseable)
        {
            halfCloseable.CompleteWrites();
        }
    }

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc/>
    public override void Flush() => _inner.Flush();

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                _inner.Dispose();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                // Reset underneath (a relayed stream's end-to-end writer flushes into the reset carrier): release it.
                _abort?.Invoke(Sessions.FabricErrorCode.Cancel);
            }
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        try
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            _abort?.Invoke(Sessions.FabricErrorCode.Cancel);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }
}
