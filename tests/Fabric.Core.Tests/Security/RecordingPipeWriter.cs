using System.IO.Pipelines;

namespace Fabric.Core.Tests.Security;

/// <summary>A pass-through <see cref="PipeWriter"/> that keeps a copy of every byte advanced through it.</summary>
internal sealed class RecordingPipeWriter(PipeWriter inner) : PipeWriter
{
    private readonly Lock _sync = new();
    private readonly MemoryStream _written = new();
    private Memory<byte> _last;

    /// <summary>Bytes written so far.</summary>
    public long Count
    {
        get
        {
            lock (_sync)
            {
                return _written.Length;
            }
        }
    }

    /// <summary>A copy of the bytes written so far.</summary>
    public byte[] ToArray()
    {
        lock (_sync)
        {
            return _written.ToArray();
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => _last = inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        lock (_sync)
        {
            _written.Write(_last.Span[..bytes]);
        }

        _last = _last[bytes..];
        inner.Advance(bytes);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);
}
