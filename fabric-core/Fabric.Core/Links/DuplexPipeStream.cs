using System.Buffers;
using System.IO.Pipelines;

namespace Fabric.Core.Links;

/// <summary>
/// A duplex <see cref="Stream"/> over a reader and a writer (an end-to-end secure link, or an in-process pair). Each
/// write is flushed at once (a record per write on a secure link). Disposing completes both sides;
/// <see cref="CompleteWrites"/> completes only the writer, so the other side reads end of stream.
/// </summary>
public sealed class DuplexPipeStream(PipeReader reader, PipeWriter writer, Action? onDispose = null) : Stream, IHalfCloseable
{
    private int _disposed;

    /// <summary>A connected in-process pair: what one writes, the other reads.</summary>
    public static (DuplexPipeStream A, DuplexPipeStream B) CreatePair()
    {
        var options = new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);
        var aToB = new Pipe(options);
        var bToA = new Pipe(options);
        return (new DuplexPipeStream(bToA.Reader, aToB.Writer), new DuplexPipeStream(aToB.Reader, bToA.Writer));
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
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> data = result.Buffer;
            if (!data.IsEmpty && !buffer.IsEmpty)
            {
                int n = (int)Math.Min(buffer.Length, data.Length);
                data.Slice(0, n).CopyTo(buffer.Span);
                reader.AdvanceTo(data.GetPosition(n));
                return n;
            }

            if (buffer.IsEmpty && (!data.IsEmpty || result.IsCompleted))
            {
                reader.AdvanceTo(data.Start); // zero-byte read: data is there, nothing consumed
                return 0;
            }

            reader.AdvanceTo(data.Start, data.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return 0;
            }
        }
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        FlushResult result = await writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted)
        {
            throw new IOException("the other side stopped reading");
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <summary>Ends the writing direction; the other side reads end of stream.</summary>
    public void CompleteWrites() => writer.Complete();

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // A writer over a carrier that was reset may fail to complete; the reader and the owner are released anyway.
            try
            {
                writer.Complete();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
            }

            try
            {
                reader.Complete();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
            }

            onDispose?.Invoke();
        }

        base.Dispose(disposing);
    }
}
