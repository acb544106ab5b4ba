using System.IO.Pipelines;

namespace Fabric.Core.Security;

/// <summary>
/// The plaintext side of a secure link's output. It hands the session memory inside the carrier's own buffer,
/// 20 bytes past the start of a record; frames are written there, and sealing encrypts them in place and writes
/// header and tag around them. A record closes when the session flushes or the next write does not fit, so the
/// frames of one flush travel in one record (up to 64 KiB): fewer, larger AEAD calls and sends. No copy, no
/// allocation. Used by the session's single writer only.
/// </summary>
internal sealed class SecureLinkWriter(PipeWriter inner, RecordSealer sealer, SecureLinkStatistics statistics) : PipeWriter, Links.IRecordBoundary
{
    // Ask the carrier for room for at least this much plaintext so small writes still produce full records.
    private const int MinimumRecordRequest = 16 * 1024;

    private Memory<byte> _record;
    private int _capacity;
    private int _length;
    private bool _open;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeHint, RecordFormat.MaxPlaintext);
        if (!_open || _capacity - _length < sizeHint)
        {
            SealOpenRecord();
            Memory<byte> memory = inner.GetMemory(RecordFormat.Overhead + Math.Max(sizeHint, MinimumRecordRequest));
            _capacity = Math.Min(memory.Length - RecordFormat.Overhead, RecordFormat.MaxPlaintext);
            _record = memory;
            _length = 0;
            _open = true;
        }

        return _record.Slice(RecordFormat.HeaderSize + _length, _capacity - _length);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (bytes < 0 || !_open && bytes > 0 || _length + bytes > _capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        _length += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        SealOpenRecord();
        return inner.FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    /// <inheritdoc/>
    public void EndRecord() => SealOpenRecord();

    public override void Complete(Exception? exception = null)
    {
        if (exception is null)
        {
            try
            {
                SealOpenRecord();
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
            {
                // The carrier failed (its stream was reset): the last record cannot go out. Completing must still
                // release the carrier, so the failure is passed on instead of thrown.
                exception = ex;
            }
        }

        inner.Complete(exception);
    }

    private void SealOpenRecord()
    {
        if (!_open)
        {
            return;
        }

        _open = false;
        if (_length == 0)
        {
            return; // nothing written: the carrier memory is simply not advanced
        }

        int total = RecordFormat.Overhead + _length;
        sealer.Seal(_record.Span[..total], _length);
        inner.Advance(total);
        statistics.OnSealed(_length);
    }
}
