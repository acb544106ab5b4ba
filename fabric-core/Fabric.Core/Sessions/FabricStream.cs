using System.Buffers;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Fabric.Core.Sessions;

/// <summary>
/// One multiplexed stream of a <see cref="FabricSession"/>: a duplex, non-seekable <see cref="Stream"/>.
/// Reads return 0 once the peer has half-closed and its data is consumed; <see cref="CompleteWrites"/> half-closes
/// this side; <see cref="Abort"/> resets both directions. Zero-byte reads wait for data without consuming it,
/// as <c>SocketsHttpHandler</c> and <c>SslStream</c> expect. One reader and one writer may work concurrently.
/// </summary>
public sealed class FabricStream : Stream, IValueTaskSource<int>, IValueTaskSource, Links.IHalfCloseable
{
    private readonly FabricSession _session;

    // ---- receive side, guarded by _recvLock (never taken while holding the session lock) ----
    private readonly Lock _recvLock = new();
    private PooledByteQueue _recvBuffer;
    private long _recvCreditRemaining;   // bytes the peer may still send before we grant more
    private int _recvWindow;             // current window size (auto-tuned)
    private int _recvUnreleased;         // bytes consumed by the application, not yet granted back
    private long _lastGrantTimestamp;
    private bool _recvEnded;             // CLOSE received: reads return 0 once the buffer drains
    private bool _recvDiscard;           // nobody will read: incoming data is dropped and its credit returned
    private Exception? _recvError;
    private Memory<byte> _pendingRead;
    private bool _readWaiting;
    private volatile bool _disposed;
    private ManualResetValueTaskSourceCore<int> _readCore;
    private CancellationTokenRegistration _readCancel;

    // ---- send side and protocol state, guarded by the session lock ----
    internal PooledByteQueue SendBuffer;
    internal long SendCredit;
    internal bool CloseRequested;        // CLOSE goes out after the buffered data
    internal bool ResetAfterClose;       // disposed while the peer still sends: RESET(CANCEL) follows our CLOSE
    internal bool LocalDone;             // CLOSE or RESET queued: nothing more will be sent
    internal bool RemoteDone;            // CLOSE or RESET received: nothing more will arrive
    internal bool InTable;
    internal FabricStream? ReadyNext;
    internal FabricStream? ReadyPrev;
    internal bool InReadyQueue;
    internal int Deficit;
    internal uint CreditToSend;
    internal bool CreditQueued;
    internal long WindowGrowth;          // bytes of session budget this stream's window growth holds
    internal long DroppedWrites;
    internal bool CountedAsPeerOpen;     // counts against our MaxConcurrentStreams
    internal bool ResetSent;
    internal bool ResetReceived;
    private Exception? _sendError;
    private bool _writeWaiting;
    private ManualResetValueTaskSourceCore<int> _writeCore;
    private CancellationTokenRegistration _writeCancel;

    internal FabricStream(FabricSession session, uint id, ushort subprotocol, TrafficClass trafficClass, string target, bool isLocal, int receiveWindow, long sendCredit)
    {
        _session = session;
        Id = id;
        Subprotocol = subprotocol;
        TrafficClass = trafficClass;
        Target = target;
        IsLocallyInitiated = isLocal;
        _recvWindow = receiveWindow;
        _recvCreditRemaining = receiveWindow;
        SendCredit = sendCredit;
        _readCore.RunContinuationsAsynchronously = !(trafficClass == TrafficClass.Interactive && session.Options.InlineInteractiveCompletions);
        _writeCore.RunContinuationsAsynchronously = true;
    }

    /// <summary>Stream id: odd when the link's initiator opened it, even for the acceptor.</summary>
    public uint Id { get; }

    /// <summary>16-bit subprotocol id given at open (docs/SUBPROTOCOLS.md).</summary>
    public ushort Subprotocol { get; }

    /// <summary>Scheduling class of the stream's outgoing data.</summary>
    public TrafficClass TrafficClass { get; }

    /// <summary>Target service name given at open (may be empty).</summary>
    public string Target { get; }

    /// <summary>True when this side opened the stream.</summary>
    public bool IsLocallyInitiated { get; }

    /// <summary>The session that carries the stream.</summary>
    public FabricSession Session => _session;

    /// <summary>Current receive window (auto-tuned from RTT between the initial and the maximum window).</summary>
    public int ReceiveWindow
    {
        get
        {
            lock (_recvLock)
            {
                return _recvWindow;
            }
        }
    }

    /// <summary>Writes of a <see cref="TrafficClass.Droppable"/> stream dropped because the send buffer was full.</summary>
    public long DroppedWriteCount => Interlocked.Read(ref DroppedWrites);

    /// <inheritdoc/>
    public override bool CanRead => true;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    // ======================================================================================
    // Reading
    // ======================================================================================

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_disposed)
        {
            return ValueTask.FromException<int>(new ObjectDisposedException(ToString()));
        }

        int consumed;
        uint grant;
        lock (_recvLock)
        {
            if (_readWaiting)
            {
                throw new InvalidOperationException("A read is already pending on this stream.");
            }

            if (!_recvBuffer.IsEmpty)
            {
                if (buffer.IsEmpty)
                {
                    return new ValueTask<int>(0);
                }

                consumed = _recvBuffer.Read(buffer.Span);
                grant = ConsumedLocked(consumed);
            }
            else if (_recvError is not null)
            {
                return ValueTask.FromException<int>(_recvError);
            }
            else if (_recvEnded)
            {
                return new ValueTask<int>(0);
            }
            else if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<int>(cancellationToken);
            }
            else
            {
                _readCore.Reset();
                _pendingRead = buffer;
                _readWaiting = true;
                if (cancellationToken.CanBeCanceled)
                {
                    _readCancel = cancellationToken.UnsafeRegister(static (s, ct) => ((FabricStream)s!).CancelRead(ct), this);
                }

                return new ValueTask<int>(this, _readCore.Version);
            }
        }

        _session.OnConsumed(this, consumed, grant);
        return new ValueTask<int>(consumed);
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void CancelRead(CancellationToken token)
    {
        lock (_recvLock)
        {
            if (!_readWaiting)
            {
                return;
            }

            _readWaiting = false;
            _pendingRead = default;
        }

        _readCore.SetException(new OperationCanceledException(token));
    }

    /// <summary>
    /// Called by the session's read loop for a DATA frame. Copies straight into a waiting reader's buffer when
    /// nothing is queued (one copy fewer), otherwise into the pooled receive buffer. Returns the bytes the
    /// application consumed (or that were discarded) so the session can return their credit.
    /// </summary>
    internal int OnData(in ReadOnlySequence<byte> payload, out uint grant, out bool discarded)
    {
        int length = (int)payload.Length;
        grant = 0;
        discarded = false;
        bool complete = false;
        int delivered = 0;
        lock (_recvLock)
        {
            if (length > _recvCreditRemaining)
            {
                throw new Framing.FabricProtocolException(FabricErrorCode.FlowControlError, $"stream {Id} received {length} bytes with {_recvCreditRemaining} credit left");
            }

            _recvCreditRemaining -= length;
            if (_recvDiscard || _recvError is not null)
            {
                discarded = true;
                return length;
            }

            if (_readWaiting)
            {
                if (_recvBuffer.IsEmpty && !_pendingRead.IsEmpty)
                {
                    delivered = (int)Math.Min(length, _pendingRead.Length);
                    payload.Slice(0, delivered).CopyTo(_pendingRead.Span);
                    if (delivered < length)
                    {
                        _recvBuffer.Append(payload.Slice(delivered));
                    }

                    grant = ConsumedLocked(delivered);
                }
                else
                {
                    _recvBuffer.Append(payload);
                }

                _readWaiting = false;
                _pendingRead = default;
                complete = true;
            }
            else
            {
                _recvBuffer.Append(payload);
            }
        }

        if (complete)
        {
            CompleteRead(delivered, null);
        }

        return delivered;
    }

    /// <summary>The peer half-closed (CLOSE received): pending and later reads see end of stream after the buffered data.</summary>
    internal void OnRemoteClose()
    {
        bool complete;
        lock (_recvLock)
        {
            _recvEnded = true;
            complete = _readWaiting;
            _readWaiting = false;
            _pendingRead = default;
        }

        if (complete)
        {
            CompleteRead(0, null);
        }
    }

    /// <summary>
    /// The receive direction failed (reset, session loss). Buffered data is dropped unless the peer had already
    /// finished sending (then it stays readable). Returns how many buffered bytes were dropped, for session credit.
    /// </summary>
    internal int FailReceive(Exception error, bool keepCompletedData)
    {
        int dropped = 0;
        bool complete;
        lock (_recvLock)
        {
            if (!(keepCompletedData && _recvEnded))
            {
                _recvError ??= error;
                dropped = (int)_recvBuffer.Length;
                _recvBuffer.Clear();
            }

            complete = _readWaiting;
            _readWaiting = false;
            _pendingRead = default;
        }

        if (complete)
        {
            if (_recvError is not null)
            {
                CompleteRead(0, _recvError);
            }
            else
            {
                CompleteRead(0, null);
            }
        }

        return dropped;
    }

    /// <summary>
    /// Stops reading: buffered and future data are dropped, a pending read fails as disposed; returns the dropped
    /// byte count for session credit.
    /// </summary>
    private int DiscardReceive()
    {
        int dropped;
        bool complete;
        lock (_recvLock)
        {
            _recvDiscard = true;
            dropped = (int)_recvBuffer.Length;
            _recvBuffer.Clear();
            complete = _readWaiting;
            _readWaiting = false;
            _pendingRead = default;
        }

        if (complete)
        {
            CompleteRead(0, new ObjectDisposedException(ToString()));
        }

        return dropped;
    }

    /// <summary>Marks a stream refused at open: nobody will read it. Called before the stream is visible to any other thread.</summary>
    internal void MarkRefused() => _recvDiscard = true;

    private bool ReceiveFinished
    {
        get
        {
            lock (_recvLock)
            {
                return _recvEnded || _recvError is not null;
            }
        }
    }

    private void CompleteRead(int result, Exception? error)
    {
        _readCancel.Unregister();
        _readCancel = default;
        if (error is null)
        {
            _readCore.SetResult(result);
        }
        else
        {
            _readCore.SetException(error);
        }
    }

    /// <summary>
    /// Accounts <paramref name="consumed"/> bytes read by the application and decides whether to grant credit:
    /// once half the window is consumed, the consumed bytes go back to the peer, and if that half window went by
    /// in less than two RTTs the window doubles (up to the maximum, within the session's budget).
    /// </summary>
    private uint ConsumedLocked(int consumed)
    {
        if (consumed == 0 || _recvEnded)
        {
            return 0;
        }

        _recvUnreleased += consumed;
        if (_recvUnreleased < _recvWindow / 2)
        {
            return 0;
        }

        long now = _session.Time.GetTimestamp();
        int growth = 0;
        if (_lastGrantTimestamp != 0 && _session.ShouldGrowWindow(_session.Time.GetElapsedTime(_lastGrantTimestamp, now), _recvWindow))
        {
            growth = _session.TryReserveWindowGrowth(this, _recvWindow);
        }

        _lastGrantTimestamp = now;
        _recvWindow += growth;
        uint grant = (uint)(_recvUnreleased + growth);
        _recvCreditRemaining += grant;
        _recvUnreleased = 0;
        return grant;
    }

    // ======================================================================================
    // Writing
    // ======================================================================================

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_disposed)
        {
            return ValueTask.FromException(new ObjectDisposedException(ToString()));
        }

        if (buffer.IsEmpty)
        {
            return default;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        int written = _session.TryQueueWrite(this, buffer.Span, cancellationToken, out Exception? error);
        if (error is not null)
        {
            return ValueTask.FromException(error);
        }

        return written == buffer.Length ? default : WriteSlowAsync(buffer[written..], cancellationToken);
    }

    /// <summary>The send buffer was full: wait for the armed wake-up, queue what fits, repeat.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteSlowAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await new ValueTask(this, _writeCore.Version).ConfigureAwait(false);
            int written = _session.TryQueueWrite(this, buffer.Span, cancellationToken, out Exception? error);
            if (error is not null)
            {
                throw error;
            }

            buffer = buffer[written..];
            if (buffer.IsEmpty)
            {
                return;
            }
        }
    }

    /// <summary>Called under the session lock when the send buffer is full: arms the write wait.</summary>
    internal void ArmWriteWaitLocked(CancellationToken cancellationToken)
    {
        _writeCore.Reset();
        _writeWaiting = true;
        if (cancellationToken.CanBeCanceled)
        {
            _writeCancel = cancellationToken.UnsafeRegister(static (s, ct) => ((FabricStream)s!).CancelWrite(ct), this);
        }
    }

    /// <summary>Called under the session lock when buffer space frees up or the stream fails.</summary>
    internal void ReleaseWriteWaitLocked(Exception? error)
    {
        if (!_writeWaiting)
        {
            return;
        }

        _writeWaiting = false;
        _writeCancel.Unregister();
        _writeCancel = default;
        if (error is null)
        {
            _writeCore.SetResult(0);
        }
        else
        {
            _writeCore.SetException(error);
        }
    }

    internal bool IsWriteWaitingLocked => _writeWaiting;

    internal Exception? SendErrorLocked
    {
        get => _sendError;
        set => _sendError ??= value;
    }

    private void CancelWrite(CancellationToken token) => _session.CancelWriteWait(this, new OperationCanceledException(token));

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        byte[] copy = buffer.ToArray();
        WriteAsync(copy).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// Completes at once: the session's writer sends queued data as soon as credit allows, so there is nothing to
    /// push. (Waiting here would only add a thread hand-off per flush to callers such as SslStream.)
    /// </summary>
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <summary>Half-closes the sending direction: CLOSE_STREAM goes out after the data already written. Reads continue.</summary>
    public void CompleteWrites() => _session.RequestClose(this, resetAfterClose: false);

    /// <summary>Resets the stream in both directions with <paramref name="code"/> (RESET_STREAM); unsent data is dropped.</summary>
    public void Abort(FabricErrorCode code = FabricErrorCode.Cancel)
    {
        var error = new FabricStreamException(code, $"stream {Id} was reset locally ({code})", isRemote: false);
        int dropped = FailReceive(error, keepCompletedData: false);
        _session.ResetLocal(this, code, error, dropped);
    }

    /// <summary>
    /// Disposing half-closes writes gracefully (buffered data is still delivered). If the peer has not finished
    /// sending, it is told to stop (RESET_STREAM CANCEL after our CLOSE) and unread data is dropped.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _session.CancelWriteWait(this, new ObjectDisposedException(ToString())); // a write still waiting for buffer space fails now
            bool receiveFinished = ReceiveFinished;
            int dropped = DiscardReceive();
            if (dropped > 0)
            {
                _session.OnConsumed(this, dropped, 0);
            }

            _session.RequestClose(this, resetAfterClose: !receiveFinished);
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>A one-line dump of the stream's flow state, for diagnosing stalls (test failures, admin API).</summary>
    internal string DescribeReceiveState()
    {
        lock (_recvLock)
        {
            return $"recv: buffered {_recvBuffer.Length}, credit left {_recvCreditRemaining}, window {_recvWindow}, unreleased {_recvUnreleased}, ended {_recvEnded}, discard {_recvDiscard}, error {_recvError?.GetType().Name ?? "none"}, read waiting {_readWaiting} (buffer {_pendingRead.Length})";
        }
    }

    /// <summary>Send-side state; call under the session lock.</summary>
    internal string DescribeSendStateLocked()
        => $"send: buffered {SendBuffer.Length}, credit {SendCredit}, close requested {CloseRequested}, local done {LocalDone}, remote done {RemoteDone}, in table {InTable}, ready queued {InReadyQueue}, write waiting {_writeWaiting}, credit to send {CreditToSend} (queued {CreditQueued})";

    /// <inheritdoc/>
    public override string ToString() => $"FabricStream {Id} (subprotocol 0x{Subprotocol:x4}, {TrafficClass}, '{Target}')";

    // ---- IValueTaskSource<int>: reads ----
    int IValueTaskSource<int>.GetResult(short token) => _readCore.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _readCore.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _readCore.OnCompleted(continuation, state, token, flags);

    // ---- IValueTaskSource: write waits ----
    void IValueTaskSource.GetResult(short token) => _writeCore.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _writeCore.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _writeCore.OnCompleted(continuation, state, token, flags);
}
