using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Fabric.Core.Security;

/// <summary>
/// The plaintext side of a secure link's input. <see cref="ReadAsync"/> reads the carrier, opens every complete
/// record into an internal pipe (only authenticated plaintext is ever advanced into it) and returns that pipe's
/// data, all on the caller's thread: no decrypt loop, no hand-off. A record's length is checked before it is
/// buffered. Rejected records are dropped and counted; past the link's limit the link fails.
/// </summary>
internal sealed class SecureLinkReader : PipeReader
{
    private readonly PipeReader _inner;
    private readonly RecordOpener _opener;
    private readonly SecureLink _link;
    private readonly Pipe _plain = new(new PipeOptions(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0,
        resumeWriterThreshold: 0,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false));

    private byte[]? _scratch;

    public SecureLinkReader(PipeReader inner, RecordOpener opener, SecureLink link)
    {
        _inner = inner;
        _opener = opener;
        _link = link;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_plain.Reader.TryRead(out ReadResult plain))
            {
                return plain;
            }

            ReadResult raw = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = raw.Buffer;
            bool more = false;
            try
            {
                more = OpenRecords(ref buffer);
            }
            finally
            {
                // When records remain buffered, mark only what was consumed as examined, so the next read returns
                // at once with them instead of waiting for new bytes.
                _inner.AdvanceTo(buffer.Start, more ? buffer.Start : buffer.End);
            }

            FlushResult flushed = await _plain.Writer.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            _ = flushed;
            if (raw.IsCanceled)
            {
                return new ReadResult(ReadOnlySequence<byte>.Empty, isCanceled: true, isCompleted: false);
            }

            if (raw.IsCompleted && !more)
            {
                if (!buffer.IsEmpty)
                {
                    throw new IOException($"the link closed inside a record ({buffer.Length} bytes left over)");
                }

                await _plain.Writer.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    public override bool TryRead(out ReadResult result) => _plain.Reader.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => _plain.Reader.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => _plain.Reader.AdvanceTo(consumed, examined);

    public override void CancelPendingRead()
    {
        _plain.Reader.CancelPendingRead();
        _inner.CancelPendingRead();
    }

    public override void Complete(Exception? exception = null)
    {
        _plain.Reader.Complete(exception);
        _plain.Writer.Complete(exception);
        _inner.Complete(exception);
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }
    }

    /// <summary>
    /// Opens records from the front of <paramref name="buffer"/> until one yields plaintext, so the session sees each
    /// record as soon as it is open (a small urgent record is not held back behind a large bulk one). Returns true
    /// when bytes remain that may hold further records.
    /// </summary>
    private bool OpenRecords(ref ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefixBytes = stackalloc byte[RecordPrefix.Size];
        while (buffer.Length >= RecordPrefix.Size)
        {
            buffer.Slice(0, RecordPrefix.Size).CopyTo(prefixBytes);
            RecordPrefix prefix = RecordPrefix.Read(prefixBytes);
            if (prefix.Type != SecureRecordType.Transport || prefix.BodyLength > RecordFormat.MaxTransportBody || prefix.BodyLength < 12 + RecordFormat.TagSize)
            {
                // Framing is lost: nothing after this can be trusted to be on a record boundary.
                throw new IOException($"malformed secure record (type {(byte)prefix.Type}, body length {prefix.BodyLength})");
            }

            long recordLength = RecordPrefix.Size + prefix.BodyLength;
            if (buffer.Length < recordLength)
            {
                return false;
            }

            ReadOnlySequence<byte> record = buffer.Slice(0, recordLength);
            ReadOnlySpan<byte> bytes;
            if (record.IsSingleSegment)
            {
                bytes = record.FirstSpan;
            }
            else
            {
                _scratch ??= ArrayPool<byte>.Shared.Rent(RecordPrefix.Size + (int)RecordFormat.MaxTransportBody);
                record.CopyTo(_scratch);
                bytes = _scratch.AsSpan(0, (int)recordLength);
            }

            int plaintextLength = (int)recordLength - RecordFormat.Overhead;
            Span<byte> destination = _plain.Writer.GetSpan(Math.Max(plaintextLength, 1));
            RecordOpenResult result = _opener.Open(bytes[..RecordFormat.HeaderSize], bytes[RecordFormat.HeaderSize..], destination);
            buffer = buffer.Slice(recordLength);
            if (result == RecordOpenResult.Ok)
            {
                _plain.Writer.Advance(plaintextLength);
                _link.Statistics.OnOpened(plaintextLength);
                if (plaintextLength > 0)
                {
                    return buffer.Length >= RecordPrefix.Size;
                }
            }
            else
            {
                _link.OnRejectedRecord(result);
            }
        }

        return false;
    }
}
