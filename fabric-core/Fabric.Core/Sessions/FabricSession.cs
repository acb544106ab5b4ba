using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Fabric.Core.Framing;
using Fabric.Core.Links;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fabric.Core.Sessions;

/// <summary>
/// A fabric data session: many <see cref="FabricStream"/>s multiplexed over one link (any <see cref="IDuplexPipe"/>:
/// TCP, in-memory, or the secure link). One read loop parses frames and never blocks on a stream; one writer loop
/// sends control frames first, then DATA by strict class priority and deficit round robin, packing frames until
/// the flush threshold before each flush. Credit-based flow control per stream and per session.
/// See docs/PROTOCOL.md for the wire format and state machines.
/// </summary>
public sealed class FabricSession : IAsyncDisposable
{
    /// <summary>Settings assumed for a peer that omits one in its HELLO.</summary>
    internal static readonly SessionSettings ProtocolDefaults = new(16 * 1024, 100, 256 * 1024, 1024 * 1024);

    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    private readonly IDuplexPipe _link;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly IRecordBoundary? _recordBoundary;
    private readonly FabricSessionOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _sync = new();
    private readonly Dictionary<uint, FabricStream> _streams = [];
    private readonly SendScheduler _scheduler = new();
    private readonly ControlQueue _control;
    private readonly AsyncSignal _writeSignal = new(runContinuationsAsynchronously: false);
    private readonly Channel<FabricStream> _acceptQueue;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closed = new();
    private readonly FabricSessionStatistics _stats = new();

    private FabricSessionState _state = FabricSessionState.Handshaking;
    private bool _started;
    private bool _helloReceived;
    private SessionSettings _peer = ProtocolDefaults;
    private SemaphoreSlim? _openSlots;
    private int _maxSendPayload;
    private uint _nextLocalId;
    private uint _highestPeerId;
    private int _peerOpenCount;
    private long _sendSessionCredit;
    private long _recvSessionRemaining;
    private long _sessionUnreleased;
    private uint _sessionCreditToSend;
    private bool _sessionCreditQueued;
    private long _windowGrowthTotal;
    private bool _goAwaySent;
    private GoAwayFrame _goAwayFrame;
    private FloodGuard _flood;           // read-loop owned
    private RttEstimator _rtt;
    private bool _pingInFlight;
    private ulong _pingOpaque;
    private long _lastPingTimestamp;
    private long _startTimestamp;
    private long _lastReceiveTimestamp;
    private long _drainStartTimestamp;
    private long _closedTimestamp;
    private long _peerStoppedReadingTimestamp; // the writer found the peer's input completed (0: not so)
    private bool _hardClosed;
    private FabricSessionException? _closeError;
    private ITimer? _timer;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;

    /// <summary>Creates a session over <paramref name="link"/>; call <see cref="Start"/> to begin. The session owns the link.</summary>
    public FabricSession(IDuplexPipe link, SessionRole role, FabricSessionOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(link);
        options ??= new FabricSessionOptions();
        options.Validate();
        _link = link;
        _input = link.Input;
        _output = link.Output;
        _recordBoundary = link.Output as IRecordBoundary;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        Role = role;
        _nextLocalId = role == SessionRole.Initiator ? 1u : 2u;
        _recvSessionRemaining = options.SessionWindow;
        _control = new ControlQueue(options.MaxPendingControlFrames);
        _acceptQueue = Channel.CreateBounded<FabricStream>(new BoundedChannelOptions(options.AcceptBacklog)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Which end of the link this is (fixes stream id parity).</summary>
    public SessionRole Role { get; }

    /// <summary>Completes when the peer's HELLO has arrived; faults if the session ends first.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Completes when both loops have stopped and the link is released. Never faults; see <see cref="CloseError"/>.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Current life-cycle state.</summary>
    public FabricSessionState State
    {
        get
        {
            lock (_sync)
            {
                return _state;
            }
        }
    }

    /// <summary>Why the session ended (code, reason, which side); null while it runs or after a clean drain.</summary>
    public FabricSessionException? CloseError
    {
        get
        {
            lock (_sync)
            {
                return _closeError;
            }
        }
    }

    /// <summary>Streams currently open in either direction.</summary>
    public int ActiveStreamCount
    {
        get
        {
            lock (_sync)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>Smoothed round-trip time from PING/PONG; zero before the first sample.</summary>
    public TimeSpan SmoothedRtt
    {
        get
        {
            lock (_sync)
            {
                return _rtt.Smoothed;
            }
        }
    }

    /// <summary>Smallest round-trip time seen.</summary>
    public TimeSpan MinRtt
    {
        get
        {
            lock (_sync)
            {
                return _rtt.Min;
            }
        }
    }

    /// <summary>Frame, byte and error counters.</summary>
    public FabricSessionStatistics Statistics => _stats;

    /// <summary>The options in force.</summary>
    public FabricSessionOptions Options => _options;

    internal TimeProvider Time => _options.TimeProvider;

    /// <summary>A dump of the session's flow state and of <paramref name="stream"/>, for diagnosing stalls.</summary>
    internal string DescribeState(FabricStream? stream = null)
    {
        string streamSend;
        string session;
        lock (_sync)
        {
            session = $"session {Role}: state {_state}, streams {_streams.Count}, send credit {_sendSessionCredit}, recv remaining {_recvSessionRemaining}, unreleased {_sessionUnreleased}, control queued {_control.Count}, scheduler empty {_scheduler.IsEmpty}, hello received {_helloReceived}";
            streamSend = stream?.DescribeSendStateLocked() ?? "";
        }

        return stream is null ? session : $"{session}; stream {stream.Id} {streamSend}; {stream.DescribeReceiveState()}";
    }

    /// <summary>Sends HELLO and starts the read loop, the writer loop and the keepalive timer.</summary>
    public void Start()
    {
        lock (_sync)
        {
            if (_started)
            {
                throw new InvalidOperationException("The session is already started.");
            }

            _started = true;
            _startTimestamp = _lastReceiveTimestamp = Time.GetTimestamp();
            _control.TryEnqueue(new ControlItem(FrameType.Hello, 0, 0, null));
        }

        TimeSpan tick = _options.PingInterval < TimeSpan.FromMilliseconds(250) ? _options.PingInterval : TimeSpan.FromMilliseconds(250);
        _timer = Time.CreateTimer(static s => ((FabricSession)s!).OnTick(), this, tick, tick);
        _writeLoop = Task.Run(WriteLoopAsync);
        _readLoop = Task.Run(ReadLoopAsync);
        _ = FinishAsync();
        _writeSignal.Set();
    }

    /// <summary>
    /// Opens a stream to the peer. Waits for the HELLO exchange and, if the peer's concurrent-stream limit is
    /// reached, for a slot. Throws <see cref="FabricSessionException"/> when the session is draining or closed.
    /// </summary>
    public async ValueTask<FabricStream> OpenStreamAsync(ushort subprotocol, string target, TrafficClass trafficClass = TrafficClass.Reliable, CancellationToken cancellationToken = default)
    {
        OpenStreamFrame.ValidateTarget(target);
        if (trafficClass > TrafficClass.Droppable)
        {
            throw new ArgumentOutOfRangeException(nameof(trafficClass));
        }

        if (!_ready.Task.IsCompletedSuccessfully)
        {
            await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        SemaphoreSlim slots = _openSlots!;
        if (!slots.Wait(0, CancellationToken.None))
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
            try
            {
                await slots.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw NotOpenError();
            }
        }

        FabricStream stream;
        lock (_sync)
        {
            if (_state != FabricSessionState.Open)
            {
                slots.Release();
                throw NotOpenError();
            }

            if (_nextLocalId > uint.MaxValue - 2)
            {
                slots.Release();
                throw new FabricSessionException(FabricErrorCode.NoError, "stream ids are exhausted; open a new session", isRemote: false);
            }

            uint id = _nextLocalId;
            _nextLocalId += 2;
            stream = new FabricStream(this, id, subprotocol, trafficClass, target, isLocal: true, _options.InitialStreamWindow, _peer.InitialStreamWindow)
            {
                InTable = true,
            };
            _streams.Add(id, stream);
            EnqueueControlLocked(new ControlItem(FrameType.OpenStream, id, 0, stream));
        }

        _stats.OnStreamOpened(local: true);
        _writeSignal.Set();
        return stream;
    }

    /// <summary>Waits for the next stream the peer opens; null once the session no longer accepts streams.</summary>
    public async ValueTask<FabricStream?> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        ChannelReader<FabricStream> reader = _acceptQueue.Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.TryRead(out FabricStream? stream))
            {
                return stream;
            }
        }

        return null;
    }

    /// <summary>
    /// Graceful shutdown: sends GOAWAY, refuses new streams, lets open streams finish, then closes the link.
    /// Completes when the session has ended (streams still open after <see cref="FabricSessionOptions.DrainTimeout"/> are reset).
    /// </summary>
    public Task GoAwayAsync(string reason = "shutting down", CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            if (_state != FabricSessionState.Closed)
            {
                BeginDrainLocked();
                if (!_goAwaySent)
                {
                    SendGoAwayLocked(FabricErrorCode.NoError, reason);
                }

                FinishDrainIfIdleLocked();
            }
        }

        _writeSignal.Set();
        return _completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Ends the session at once: GOAWAY with <paramref name="code"/> is sent best effort, every stream fails.</summary>
    public void Abort(FabricErrorCode code, string reason) => Close(code, reason, isRemote: false);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Close(FabricErrorCode.NoError, "session disposed", isRemote: false);
        if (_started)
        {
            await _completion.Task.ConfigureAwait(false);
        }

        _closed.Dispose();
    }

    // ======================================================================================
    // Read loop
    // ======================================================================================

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                try
                {
                    while (FrameReader.TryReadFrame(ref buffer, _options.MaxFramePayload, out FrameHeader header, out ReadOnlySequence<byte> payload))
                    {
                        HandleFrame(header, payload);
                    }

                    if (result.IsCompleted)
                    {
                        if (!buffer.IsEmpty)
                        {
                            throw new FabricProtocolException(FabricErrorCode.FrameSizeError, $"link closed inside a frame ({buffer.Length} bytes left over)");
                        }

                        OnLinkEnded();
                        break;
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (_hardClosed)
                {
                    break;
                }
            }
        }
        catch (FabricProtocolException ex)
        {
            _stats.OnProtocolError();
            SessionLog.ProtocolViolation(_logger, ex.Code, ex.Message);
            Close(ex.Code, ex.Message, isRemote: false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            Close(FabricErrorCode.LinkLost, "link failed: " + ex.Message, isRemote: false);
        }
#pragma warning disable CA1031 // a bug in frame handling must end this session, not the process
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SessionLog.InternalFailure(_logger, ex);
            Close(FabricErrorCode.InternalError, "internal error: " + ex.Message, isRemote: false);
        }
        finally
        {
            await _input.CompleteAsync().ConfigureAwait(false);
            Close(FabricErrorCode.LinkLost, "the link was aborted", isRemote: false); // no-op when already closed
        }
    }

    private void HandleFrame(in FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        Volatile.Write(ref _lastReceiveTimestamp, Time.GetTimestamp());
        _stats.OnFrameReceived(header.Length);
        if (header.Type != FrameType.Data)
        {
            Guard(FloodKind.ControlFrame, "control frames");
        }

        if (!_helloReceived && header.Type != FrameType.Hello)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"first frame is {FrameReader.Name(header.Type)}; HELLO must come first");
        }

        switch (header.Type)
        {
            case FrameType.Data:
                OnData(header.StreamId, payload);
                break;
            case FrameType.OpenStream:
                OnOpenStream(OpenStreamFrame.Parse(header, payload));
                break;
            case FrameType.StreamCredit:
                OnStreamCredit(header.StreamId, FrameReader.ReadUInt32(payload));
                break;
            case FrameType.CloseStream:
                OnCloseStream(header.StreamId);
                break;
            case FrameType.ResetStream:
                OnResetStream(header.StreamId, (FabricErrorCode)FrameReader.ReadUInt32(payload));
                break;
            case FrameType.Ping:
                Guard(FloodKind.Ping, "PING");
                lock (_sync)
                {
                    EnqueueControlLocked(new ControlItem(FrameType.Pong, 0, FrameReader.ReadUInt64(payload), null));
                }

                _writeSignal.Set();
                break;
            case FrameType.Pong:
                OnPong(FrameReader.ReadUInt64(payload));
                break;
            case FrameType.GoAway:
                OnGoAway(GoAwayFrame.Parse(payload));
                break;
            case FrameType.Hello:
                OnHello(payload);
                break;
            default:
                // FrameReader.Validate already rejects every other type.
                throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"unexpected frame type {header.Type}");
        }
    }

    private void Guard(FloodKind kind, string what)
    {
        if (!_flood.TryRecord(kind, Time.GetTimestamp(), _options.Flood, Time))
        {
            _stats.OnFloodDetected();
            throw new FabricProtocolException(FabricErrorCode.EnhanceYourCalm, $"too many {what} per second");
        }
    }

    private void OnHello(in ReadOnlySequence<byte> payload)
    {
        if (_helloReceived)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, "second HELLO");
        }

        HelloFrame hello = HelloFrame.Parse(payload, ProtocolDefaults);
        if (hello.Version != HelloFrame.CurrentVersion)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"peer speaks session protocol version {hello.Version}; this node speaks {HelloFrame.CurrentVersion}");
        }

        lock (_sync)
        {
            _helloReceived = true;
            _peer = hello.Settings;
            _maxSendPayload = Math.Min(_options.MaxFramePayload, _peer.MaxFramePayload);
            _sendSessionCredit = _peer.SessionWindow;
            _openSlots = new SemaphoreSlim(Math.Max(1, _peer.MaxConcurrentStreams), int.MaxValue);
            if (_state == FabricSessionState.Handshaking)
            {
                _state = FabricSessionState.Open;
            }

            SendPingLocked();
        }

        _ready.TrySetResult();
        _writeSignal.Set();
    }

    private void OnData(uint id, in ReadOnlySequence<byte> payload)
    {
        int length = (int)payload.Length;
        if (length == 0)
        {
            Guard(FloodKind.EmptyData, "empty DATA frames");
        }

        FabricStream stream;
        lock (_sync)
        {
            if (length > _recvSessionRemaining)
            {
                throw new FabricProtocolException(FabricErrorCode.FlowControlError, $"DATA of {length} bytes with {_recvSessionRemaining} session credit left");
            }

            _recvSessionRemaining -= length;
            stream = LookupLocked(id, FrameType.Data)
                ?? throw new FabricProtocolException(FabricErrorCode.StreamClosed, $"DATA on closed stream {id}");
            if (stream.RemoteDone)
            {
                throw new FabricProtocolException(FabricErrorCode.StreamClosed, $"DATA on stream {id} after the peer closed or reset it");
            }
        }

        int consumed = stream.OnData(payload, out uint grant, out bool discarded);
        if (discarded)
        {
            OnConsumed(stream, length, 0);
        }
        else if (consumed > 0 || grant > 0)
        {
            OnConsumed(stream, consumed, grant);
        }
    }

    private void OnOpenStream(in OpenStreamFrame frame)
    {
        uint id = frame.StreamId;
        bool refused = false;
        lock (_sync)
        {
            if (!IsPeerId(id))
            {
                throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"OPEN_STREAM {id} has this side's id parity");
            }

            if (id <= _highestPeerId)
            {
                throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"OPEN_STREAM {id} is a duplicate or out of order (highest so far {_highestPeerId})");
            }

            _highestPeerId = id;
            FabricErrorCode refusal = FabricErrorCode.NoError;
            if (_state != FabricSessionState.Open)
            {
                refusal = FabricErrorCode.RefusedStream;
            }
            else if (_peerOpenCount >= _options.MaxConcurrentStreams)
            {
                refusal = FabricErrorCode.RefusedStream;
            }

            var stream = new FabricStream(this, id, frame.Subprotocol, frame.Class, frame.Target, isLocal: false, _options.InitialStreamWindow, frame.InitialCredit)
            {
                InTable = true,
            };
            _streams.Add(id, stream);
            if (refusal == FabricErrorCode.NoError && !_acceptQueue.Writer.TryWrite(stream))
            {
                refusal = FabricErrorCode.RefusedStream;
            }

            if (refusal == FabricErrorCode.NoError)
            {
                _peerOpenCount++;
                stream.CountedAsPeerOpen = true;
            }
            else
            {
                // The stream stays in the table, discarding data, until the peer answers our RESET with its own.
                refused = true;
                stream.MarkRefused();
                stream.LocalDone = true;
                stream.ResetSent = true;
                EnqueueControlLocked(new ControlItem(FrameType.ResetStream, id, (ulong)refusal, stream));
            }

            if (_streams.Count > (2 * _options.MaxConcurrentStreams) + _peer.MaxConcurrentStreams + 64)
            {
                throw new FabricProtocolException(FabricErrorCode.EnhanceYourCalm, "too many streams awaiting reset acknowledgement");
            }
        }

        if (refused)
        {
            _stats.OnStreamRefused();
            Guard(FloodKind.RefusedOpen, "refused stream opens");
            _writeSignal.Set();
        }
        else
        {
            _stats.OnStreamOpened(local: false);
        }
    }

    private void OnStreamCredit(uint id, uint increment)
    {
        if (increment == 0)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"STREAM_CREDIT with a zero increment on stream {id}");
        }

        lock (_sync)
        {
            if (id == 0)
            {
                _sendSessionCredit += increment;
                if (_sendSessionCredit > FlowLimits.MaxWindow)
                {
                    throw new FabricProtocolException(FabricErrorCode.FlowControlError, "session send credit above 2^31-1");
                }
            }
            else
            {
                FabricStream? stream = LookupLocked(id, FrameType.StreamCredit);
                if (stream is null || stream.LocalDone)
                {
                    return; // credit racing our CLOSE or RESET: harmless
                }

                stream.SendCredit += increment;
                if (stream.SendCredit > FlowLimits.MaxWindow)
                {
                    throw new FabricProtocolException(FabricErrorCode.FlowControlError, $"stream {id} send credit above 2^31-1");
                }

                if (IsSendReady(stream))
                {
                    _scheduler.Enqueue(stream);
                }
            }
        }

        _writeSignal.Set();
    }

    private void OnCloseStream(uint id)
    {
        FabricStream stream;
        lock (_sync)
        {
            stream = LookupLocked(id, FrameType.CloseStream)
                ?? throw new FabricProtocolException(FabricErrorCode.StreamClosed, $"CLOSE_STREAM on closed stream {id}");
            if (stream.RemoteDone)
            {
                throw new FabricProtocolException(FabricErrorCode.StreamClosed, $"CLOSE_STREAM on stream {id} after the peer closed or reset it");
            }

            stream.RemoteDone = true;
            TryRemoveLocked(stream);
        }

        stream.OnRemoteClose();
        _writeSignal.Set();
    }

    private void OnResetStream(uint id, FabricErrorCode code)
    {
        FabricStream? stream;
        bool abortive;
        var error = new FabricStreamException(code, $"stream {id} was reset by the peer ({code})", isRemote: true);
        lock (_sync)
        {
            stream = LookupLocked(id, FrameType.ResetStream);
            if (stream is null || stream.RemoteDone && stream.ResetReceived)
            {
                return; // RESET racing our own close: nothing left to do
            }

            // The rapid-reset pattern is a peer opening streams and aborting them while still sending (before its CLOSE).
            // A RESET after the peer's CLOSE only stops our sending ("stop sending"), and one for a stream we opened costs
            // us nothing: neither counts.
            abortive = !stream.IsLocallyInitiated && !stream.RemoteDone;

            stream.RemoteDone = true;
            stream.ResetReceived = true;
            StopSendingLocked(stream, error);
            if (!stream.LocalDone)
            {
                // Answer with our own RESET: it tells the peer nothing more will come from this side.
                stream.LocalDone = true;
                stream.ResetSent = true;
                EnqueueControlLocked(new ControlItem(FrameType.ResetStream, id, (ulong)code, stream));
            }

            TryRemoveLocked(stream);
        }

        if (abortive)
        {
            Guard(FloodKind.Reset, "RESET_STREAM frames aborting streams in progress");
        }

        int dropped = stream.FailReceive(error, keepCompletedData: true);
        if (dropped > 0)
        {
            OnConsumed(stream, dropped, 0);
        }

        _writeSignal.Set();
    }

    private void OnPong(ulong opaque)
    {
        lock (_sync)
        {
            if (!_pingInFlight || opaque != _pingOpaque)
            {
                throw new FabricProtocolException(FabricErrorCode.ProtocolError, "PONG that answers no PING");
            }

            _pingInFlight = false;
            TimeSpan sample = Time.GetElapsedTime((long)opaque, Time.GetTimestamp());
            _rtt.AddSample(sample);
            Diagnostics.FabricTelemetry.OnRtt(sample);
        }
    }

    private void OnGoAway(in GoAwayFrame frame)
    {
        if (frame.Code != FabricErrorCode.NoError)
        {
            Close(frame.Code, $"peer sent GOAWAY {frame.Code}: {frame.Reason}", isRemote: true);
            return;
        }

        List<FabricStream>? refused = null;
        var error = new FabricStreamException(FabricErrorCode.RefusedStream, "the peer is draining and did not process this stream", isRemote: true);
        lock (_sync)
        {
            BeginDrainLocked();
            if (!_goAwaySent)
            {
                SendGoAwayLocked(FabricErrorCode.NoError, "drain acknowledged");
            }

            foreach (FabricStream stream in _streams.Values)
            {
                if (stream.IsLocallyInitiated && stream.Id > frame.LastStreamId && !stream.RemoteDone)
                {
                    (refused ??= []).Add(stream);
                }
            }

            if (refused is not null)
            {
                foreach (FabricStream stream in refused)
                {
                    // The peer will RESET these itself; treat them as refused now so callers can retry at once.
                    stream.RemoteDone = true;
                    stream.ResetReceived = true;
                    StopSendingLocked(stream, error);
                    if (!stream.LocalDone)
                    {
                        stream.LocalDone = true;
                        stream.ResetSent = true;
                        EnqueueControlLocked(new ControlItem(FrameType.ResetStream, stream.Id, (ulong)FabricErrorCode.RefusedStream, stream));
                    }

                    TryRemoveLocked(stream);
                }
            }

            FinishDrainIfIdleLocked();
        }

        if (refused is not null)
        {
            foreach (FabricStream stream in refused)
            {
                stream.FailReceive(error, keepCompletedData: false);
            }
        }

        _writeSignal.Set();
    }

    private void OnLinkEnded()
    {
        bool clean;
        lock (_sync)
        {
            clean = _state == FabricSessionState.Closed;
        }

        if (!clean)
        {
            Close(FabricErrorCode.LinkLost, "the link closed without GOAWAY", isRemote: true);
        }
    }

    /// <summary>Finds a stream by id; null for a stream that existed and is closed; throws for one never opened.</summary>
    private FabricStream? LookupLocked(uint id, FrameType type)
    {
        if (_streams.TryGetValue(id, out FabricStream? stream))
        {
            return stream;
        }

        bool opened = IsPeerId(id) ? id <= _highestPeerId : id < _nextLocalId;
        if (!opened)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"{FrameReader.Name(type)} on stream {id}, which was never opened");
        }

        return null;
    }

    private bool IsPeerId(uint id) => (id & 1) == (Role == SessionRole.Initiator ? 0u : 1u);

    // ======================================================================================
    // Calls from streams
    // ======================================================================================

    /// <summary>
    /// Queues as much of <paramref name="data"/> as the stream's send buffer takes; arms the write wait when not
    /// all of it fits. Droppable streams drop a write that does not fit whole.
    /// </summary>
    internal int TryQueueWrite(FabricStream stream, ReadOnlySpan<byte> data, CancellationToken cancellationToken, out Exception? error)
    {
        int queued;
        lock (_sync)
        {
            error = stream.SendErrorLocked
                ?? (_state == FabricSessionState.Closed ? (Exception)(_closeError ?? NotOpenError()) : null)
                ?? (stream.CloseRequested || stream.LocalDone ? new InvalidOperationException($"stream {stream.Id} is closed for writing") : null);
            if (error is not null)
            {
                return 0;
            }

            long space = _options.StreamSendBufferSize - stream.SendBuffer.Length;
            if (stream.TrafficClass == TrafficClass.Droppable && space < data.Length)
            {
                stream.DroppedWrites++;
                _stats.OnWriteDropped();
                return data.Length;
            }

            queued = (int)Math.Clamp(space, 0, data.Length);
            if (queued > 0)
            {
                stream.SendBuffer.Append(data[..queued]);
                if (IsSendReady(stream))
                {
                    _scheduler.Enqueue(stream);
                }
            }

            if (queued < data.Length)
            {
                stream.ArmWriteWaitLocked(cancellationToken);
            }
        }

        if (queued > 0)
        {
            _writeSignal.Set();
        }

        return queued;
    }

    internal void CancelWriteWait(FabricStream stream, Exception error)
    {
        lock (_sync)
        {
            stream.ReleaseWriteWaitLocked(error);
        }
    }

    /// <summary>The application consumed (or dropped) bytes: return session credit, and stream credit if granted.</summary>
    internal void OnConsumed(FabricStream stream, int consumed, uint grant)
    {
        bool signal = false;
        lock (_sync)
        {
            if (_state == FabricSessionState.Closed)
            {
                return;
            }

            if (grant > 0 && stream.InTable && !stream.RemoteDone)
            {
                stream.CreditToSend += grant;
                if (!stream.CreditQueued)
                {
                    stream.CreditQueued = true;
                    EnqueueControlLocked(new ControlItem(FrameType.StreamCredit, stream.Id, 0, stream));
                }

                signal = true;
            }

            _sessionUnreleased += consumed;
            // Normally credit goes back in quarter-window batches. When streams that stopped reading hold more than
            // three quarters of the window, the free rest can never add up to a quarter: return it at once, or the
            // streams still being read stall with budget to spare.
            if (_sessionUnreleased >= _options.SessionWindow / 4
                || (_sessionUnreleased > 0 && _recvSessionRemaining < _options.SessionWindow / 4))
            {
                _recvSessionRemaining += _sessionUnreleased;
                _sessionCreditToSend += (uint)_sessionUnreleased;
                _sessionUnreleased = 0;
                if (!_sessionCreditQueued)
                {
                    _sessionCreditQueued = true;
                    EnqueueControlLocked(new ControlItem(FrameType.StreamCredit, 0, 0, null));
                }

                signal = true;
            }
        }

        if (signal)
        {
            _writeSignal.Set();
        }
    }

    internal bool ShouldGrowWindow(TimeSpan sinceLastGrant, int window)
    {
        lock (_sync)
        {
            return _rtt.HasSample && window < _options.MaxStreamWindow && sinceLastGrant < _rtt.Smoothed * 2;
        }
    }

    /// <summary>Reserves budget to double a stream's window; returns the growth granted (0 when the budget is spent).</summary>
    internal int TryReserveWindowGrowth(FabricStream stream, int current)
    {
        lock (_sync)
        {
            long target = Math.Min((long)current * 2, _options.MaxStreamWindow);
            long delta = target - current;
            if (delta <= 0 || !stream.InTable || _windowGrowthTotal + delta > _options.SessionWindow / 2)
            {
                return 0;
            }

            _windowGrowthTotal += delta;
            stream.WindowGrowth += delta;
            _stats.OnWindowGrown();
            return (int)delta;
        }
    }

    internal void RequestClose(FabricStream stream, bool resetAfterClose)
    {
        lock (_sync)
        {
            if (_state == FabricSessionState.Closed || !stream.InTable)
            {
                return;
            }

            if (resetAfterClose && !stream.RemoteDone)
            {
                stream.ResetAfterClose = true;
            }

            if (!stream.CloseRequested && !stream.LocalDone)
            {
                stream.CloseRequested = true;
                if (stream.SendBuffer.IsEmpty)
                {
                    stream.LocalDone = true;
                    EnqueueControlLocked(new ControlItem(FrameType.CloseStream, stream.Id, 0, stream));
                    AfterLocalCloseLocked(stream);
                }
            }
            else if (stream.LocalDone)
            {
                AfterLocalCloseLocked(stream);
            }

            TryRemoveLocked(stream);
        }

        _writeSignal.Set();
    }

    internal void ResetLocal(FabricStream stream, FabricErrorCode code, Exception error, int droppedReceived)
    {
        lock (_sync)
        {
            if (stream.InTable && !stream.ResetSent && !(stream.LocalDone && stream.RemoteDone))
            {
                bool wasLocalDone = stream.LocalDone;
                StopSendingLocked(stream, error);
                stream.LocalDone = true;
                if (!wasLocalDone || !stream.RemoteDone)
                {
                    stream.ResetSent = true;
                    EnqueueControlLocked(new ControlItem(FrameType.ResetStream, stream.Id, (ulong)code, stream));
                }

                TryRemoveLocked(stream);
            }
            else
            {
                stream.SendErrorLocked = error;
                stream.ReleaseWriteWaitLocked(error);
            }
        }

        if (droppedReceived > 0)
        {
            OnConsumed(stream, droppedReceived, 0);
        }

        _writeSignal.Set();
    }

    // ======================================================================================
    // Writer loop
    // ======================================================================================

    private async Task WriteLoopAsync()
    {
        bool peerStoppedReading = false;
        try
        {
            while (true)
            {
                // The wake-up runs inline on the thread that queued work (no hand-off for an interactive frame
                // when the writer is idle); any further batch yields to the thread pool so that thread is not
                // kept busy sending other streams' bulk data.
                await _writeSignal.WaitAsync().ConfigureAwait(false);
                bool first = true;
                while (true)
                {
                    if (!first)
                    {
                        // To the thread pool, never to the context of the thread whose wake-up ran us inline.
                        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                    }

                    first = false;
                    int written;
                    bool finished;
                    lock (_sync)
                    {
                        written = WriteBatchLocked();
                        finished = _state == FabricSessionState.Closed && _control.Count == 0;
                    }

                    if (written > 0)
                    {
                        FlushResult flush = await _output.FlushAsync().ConfigureAwait(false);
                        if (flush.IsCompleted || flush.IsCanceled)
                        {
                            peerStoppedReading = flush.IsCompleted;
                            return;
                        }
                    }

                    if (finished)
                    {
                        return;
                    }

                    if (written == 0)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            Close(FabricErrorCode.LinkLost, "link failed while sending: " + ex.Message, isRemote: false);
        }
#pragma warning disable CA1031 // a bug in the writer must end this session, not the process
        catch (Exception ex)
#pragma warning restore CA1031
        {
            SessionLog.InternalFailure(_logger, ex);
            Close(FabricErrorCode.InternalError, "internal error: " + ex.Message, isRemote: false);
        }
        finally
        {
            if (peerStoppedReading)
            {
                // The peer stopped reading because it is closing, and its GOAWAY may still be in our input: let the
                // read loop learn why (GOAWAY or link end) rather than report LINK_LOST first. The timer ends the
                // session if neither comes.
                Volatile.Write(ref _peerStoppedReadingTimestamp, Time.GetTimestamp());
            }
            else
            {
                Close(FabricErrorCode.LinkLost, "the link was aborted", isRemote: false); // no-op when already closed
            }

            try
            {
                await _output.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // the link is already gone
            }
        }
    }

    /// <summary>Packs frames into the link's buffer until the flush threshold: all control frames first, then DATA by priority.</summary>
    private int WriteBatchLocked()
    {
        int total = 0;
        bool urgentPending = false; // control or interactive frames not yet closed off in a record of their own
        while (total < _options.FlushThreshold)
        {
            if (_control.TryDequeue(out ControlItem item))
            {
                total += WriteControlLocked(item);
                urgentPending = true;
                continue;
            }

            if (_state == FabricSessionState.Closed || _sendSessionCredit <= 0)
            {
                break;
            }

            FabricStream? stream = _scheduler.Next();
            if (stream is null)
            {
                break;
            }

            if (stream.TrafficClass <= TrafficClass.Interactive)
            {
                urgentPending = true;
            }
            else if (urgentPending)
            {
                // Urgent frames go out in their own small record, ahead of the bulk that fills this flush.
                _recordBoundary?.EndRecord();
                urgentPending = false;
            }

            total += WriteDataLocked(stream);
        }

        return total;
    }

    private int WriteDataLocked(FabricStream stream)
    {
        if (stream.Deficit <= 0)
        {
            stream.Deficit += _maxSendPayload;
        }

        long limit = Math.Min(Math.Min(stream.Deficit, _maxSendPayload), Math.Min(stream.SendCredit, _sendSessionCredit));
        int n = (int)Math.Min(limit, stream.SendBuffer.Length);
        int total = 0;
        if (n > 0)
        {
            Span<byte> span = _output.GetSpan(FrameHeader.Size + n);
            FrameWriter.WriteDataHeader(span, stream.Id, n);
            stream.SendBuffer.Peek(span.Slice(FrameHeader.Size, n));
            stream.SendBuffer.Consume(n);
            _output.Advance(FrameHeader.Size + n);
            stream.SendCredit -= n;
            _sendSessionCredit -= n;
            stream.Deficit -= n;
            total = FrameHeader.Size + n;
            _stats.OnDataSent(stream.TrafficClass, n);
        }

        if (stream.SendBuffer.IsEmpty && stream.CloseRequested && !stream.LocalDone)
        {
            Span<byte> span = _output.GetSpan(FrameWriter.CloseFrameSize);
            _output.Advance(FrameWriter.WriteClose(span, stream.Id));
            total += FrameWriter.CloseFrameSize;
            stream.LocalDone = true;
            AfterLocalCloseLocked(stream);
            TryRemoveLocked(stream);
        }

        if (stream.IsWriteWaitingLocked && stream.SendBuffer.Length <= _options.StreamSendBufferSize / 2)
        {
            stream.ReleaseWriteWaitLocked(null);
        }

        if (!IsSendReady(stream))
        {
            _scheduler.Remove(stream);
        }
        else if (stream.Deficit <= 0)
        {
            _scheduler.Rotate(stream);
        }

        return total;
    }

    private int WriteControlLocked(in ControlItem item)
    {
        int n;
        switch (item.Type)
        {
            case FrameType.Hello:
                n = new HelloFrame(HelloFrame.CurrentVersion, LocalSettings).WriteTo(_output.GetSpan(HelloFrame.FrameSize));
                break;
            case FrameType.OpenStream:
                FabricStream s = item.Stream!;
                var open = new OpenStreamFrame(s.Id, s.Subprotocol, s.TrafficClass, (uint)_options.InitialStreamWindow, s.Target);
                n = open.WriteTo(_output.GetSpan(FrameHeader.Size + OpenStreamFrame.FixedSize + OpenStreamFrame.MaxTargetBytes));
                break;
            case FrameType.StreamCredit:
                uint increment;
                if (item.Stream is null)
                {
                    increment = _sessionCreditToSend;
                    _sessionCreditToSend = 0;
                    _sessionCreditQueued = false;
                }
                else
                {
                    increment = item.Stream.RemoteDone ? 0 : item.Stream.CreditToSend;
                    item.Stream.CreditToSend = 0;
                    item.Stream.CreditQueued = false;
                }

                if (increment == 0)
                {
                    return 0;
                }

                n = FrameWriter.WriteStreamCredit(_output.GetSpan(FrameWriter.CreditFrameSize), item.StreamId, increment);
                break;
            case FrameType.CloseStream:
                n = FrameWriter.WriteClose(_output.GetSpan(FrameWriter.CloseFrameSize), item.StreamId);
                break;
            case FrameType.ResetStream:
                n = FrameWriter.WriteReset(_output.GetSpan(FrameWriter.ResetFrameSize), item.StreamId, (FabricErrorCode)item.Value);
                break;
            case FrameType.Ping:
            case FrameType.Pong:
                n = FrameWriter.WritePing(_output.GetSpan(FrameWriter.PingFrameSize), item.Type, item.Value);
                break;
            case FrameType.GoAway:
                n = _goAwayFrame.WriteTo(_output.GetSpan(GoAwayFrame.MaxFrameSize));
                break;
            default:
                throw new InvalidOperationException($"no writer for control frame {item.Type}");
        }

        _output.Advance(n);
        _stats.OnControlSent(n);
        return n;
    }

    private SessionSettings LocalSettings => new(_options.MaxFramePayload, _options.MaxConcurrentStreams, _options.InitialStreamWindow, _options.SessionWindow);

    // ======================================================================================
    // State helpers (all under _sync)
    // ======================================================================================

    private static bool IsSendReady(FabricStream stream) => !stream.LocalDone && !stream.SendBuffer.IsEmpty && stream.SendCredit > 0;

    private void EnqueueControlLocked(in ControlItem item)
    {
        if (!_control.TryEnqueue(item) && _state != FabricSessionState.Closed)
        {
            // The peer makes us queue control frames faster than it reads them: drop it rather than grow.
            ThreadPool.UnsafeQueueUserWorkItem(
                static s => s.Close(FabricErrorCode.EnhanceYourCalm, "peer does not read its control frames", isRemote: false),
                this,
                preferLocal: false);
        }
    }

    private void StopSendingLocked(FabricStream stream, Exception error)
    {
        stream.SendBuffer.Clear();
        _scheduler.Remove(stream);
        stream.SendErrorLocked = error;
        stream.ReleaseWriteWaitLocked(error);
    }

    private void AfterLocalCloseLocked(FabricStream stream)
    {
        if (stream.ResetAfterClose && !stream.RemoteDone && !stream.ResetSent)
        {
            stream.ResetSent = true;
            EnqueueControlLocked(new ControlItem(FrameType.ResetStream, stream.Id, (ulong)FabricErrorCode.Cancel, stream));
        }
    }

    private void TryRemoveLocked(FabricStream stream)
    {
        if (!stream.InTable || !stream.LocalDone || !stream.RemoteDone)
        {
            return;
        }

        stream.InTable = false;
        _streams.Remove(stream.Id);
        _scheduler.Remove(stream);
        stream.SendBuffer.Clear();
        if (stream.IsLocallyInitiated)
        {
            _openSlots?.Release();
        }
        else if (stream.CountedAsPeerOpen)
        {
            _peerOpenCount--;
        }

        _windowGrowthTotal -= stream.WindowGrowth;
        stream.WindowGrowth = 0;
        FinishDrainIfIdleLocked();
    }

    private void SendPingLocked()
    {
        long now = Time.GetTimestamp();
        _pingInFlight = true;
        _pingOpaque = (ulong)now;
        _lastPingTimestamp = now;
        EnqueueControlLocked(new ControlItem(FrameType.Ping, 0, _pingOpaque, null));
    }

    private void BeginDrainLocked()
    {
        if (_state is FabricSessionState.Open or FabricSessionState.Handshaking)
        {
            _state = FabricSessionState.Draining;
            _drainStartTimestamp = Time.GetTimestamp();
            _acceptQueue.Writer.TryComplete();
            _closed.Cancel(); // wakes OpenStreamAsync callers waiting for a slot
        }
    }

    private void SendGoAwayLocked(FabricErrorCode code, string reason)
    {
        _goAwaySent = true;
        _goAwayFrame = new GoAwayFrame(_highestPeerId, code, GoAwayFrame.Truncate(reason));
        EnqueueControlLocked(new ControlItem(FrameType.GoAway, 0, 0, null));
    }

    private void FinishDrainIfIdleLocked()
    {
        if (_state == FabricSessionState.Draining && _goAwaySent && _streams.Count == 0)
        {
            _state = FabricSessionState.Closed;
            _closedTimestamp = Time.GetTimestamp();
            SessionLog.Drained(_logger, Role);
        }
    }

    private FabricSessionException NotOpenError()
        => _closeError ?? new FabricSessionException(FabricErrorCode.RefusedStream, $"the session is {_state.ToString().ToLowerInvariant()} and opens no new streams", isRemote: false);

    // ======================================================================================
    // Closing, timers
    // ======================================================================================

    private void Close(FabricErrorCode code, string reason, bool isRemote)
    {
        FabricStream[] streams;
        var error = new FabricSessionException(code, reason, isRemote);
        lock (_sync)
        {
            if (_state == FabricSessionState.Closed)
            {
                return;
            }

            _state = FabricSessionState.Closed;
            _closedTimestamp = Time.GetTimestamp();
            _closeError = error;
            streams = [.. _streams.Values];
            foreach (FabricStream stream in streams)
            {
                stream.InTable = false;
                stream.LocalDone = stream.RemoteDone = true;
                StopSendingLocked(stream, error);
            }

            _streams.Clear();
            _scheduler.Clear();
            _control.Clear();
            if (!isRemote && code != FabricErrorCode.LinkLost && _started)
            {
                _goAwayFrame = new GoAwayFrame(_highestPeerId, code, GoAwayFrame.Truncate(reason));
                _control.TryEnqueue(new ControlItem(FrameType.GoAway, 0, 0, null));
            }

            _acceptQueue.Writer.TryComplete();
        }

        SessionLog.Closed(_logger, Role, code, reason, isRemote);
        if (_ready.TrySetException(error))
        {
            _ = _ready.Task.Exception; // observed: callers may never await Ready
        }

        while (_acceptQueue.Reader.TryRead(out FabricStream? pending))
        {
            pending.FailReceive(error, keepCompletedData: false);
        }

        foreach (FabricStream stream in streams)
        {
            stream.FailReceive(error, keepCompletedData: true);
        }

        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _writeSignal.Set();
        if (code == FabricErrorCode.LinkLost || !_started)
        {
            HardClose();
        }
    }

    /// <summary>Stops both loops without waiting for the peer (link lost, or the peer ignores our close).</summary>
    private void HardClose()
    {
        if (_completion.Task.IsCompleted)
        {
            return; // loops done and link released: pipes are completed, nothing to cancel
        }

        _hardClosed = true;
        try
        {
            _input.CancelPendingRead();
            _output.CancelPendingFlush();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // a loop completed its pipe end concurrently
        }

        if (_link is IFabricLink fabricLink)
        {
            fabricLink.Abort();
        }

        if (!_started)
        {
            _completion.TrySetResult();
        }
    }

    private void OnTick()
    {
        FabricErrorCode? code = null;
        string reason = string.Empty;
        bool hardClose = false;
        bool signal = false;
        long now = Time.GetTimestamp();
        lock (_sync)
        {
            if (_state == FabricSessionState.Closed)
            {
                hardClose = !_hardClosed && Time.GetElapsedTime(_closedTimestamp, now) > CloseGrace;
            }
            else if (_state == FabricSessionState.Handshaking && Time.GetElapsedTime(_startTimestamp, now) > _options.HelloTimeout)
            {
                (code, reason) = (FabricErrorCode.Timeout, $"no HELLO within {_options.HelloTimeout.TotalSeconds:0.###} s");
            }
            else if (_options.IdleTimeout > TimeSpan.Zero && Time.GetElapsedTime(Volatile.Read(ref _lastReceiveTimestamp), now) > _options.IdleTimeout)
            {
                (code, reason) = (FabricErrorCode.Timeout, $"nothing received for {_options.IdleTimeout.TotalSeconds:0.###} s");
            }
            else if (Volatile.Read(ref _peerStoppedReadingTimestamp) is var stopped and not 0 && Time.GetElapsedTime(stopped, now) > CloseGrace)
            {
                (code, reason) = (FabricErrorCode.LinkLost, "the peer stopped reading");
            }
            else if (_pingInFlight && Time.GetElapsedTime(_lastPingTimestamp, now) > _options.PingTimeout)
            {
                (code, reason) = (FabricErrorCode.Timeout, $"no PONG within {_options.PingTimeout.TotalSeconds:0.###} s (the link or the peer is dead)");
            }
            else if (_state == FabricSessionState.Draining && Time.GetElapsedTime(_drainStartTimestamp, now) > _options.DrainTimeout)
            {
                (code, reason) = (FabricErrorCode.Timeout, $"drain did not finish within {_options.DrainTimeout.TotalSeconds:0.###} s ({_streams.Count} streams left)");
            }
            else if (_helloReceived && !_pingInFlight && Time.GetElapsedTime(_lastPingTimestamp, now) >= _options.PingInterval)
            {
                SendPingLocked();
                signal = true;
            }
        }

        if (code is { } c)
        {
            Close(c, reason, isRemote: false);
        }
        else if (hardClose)
        {
            HardClose();
        }
        else if (signal)
        {
            _writeSignal.Set();
        }
    }

    private async Task FinishAsync()
    {
        await Task.WhenAll(_readLoop, _writeLoop).ConfigureAwait(false);
        lock (_sync)
        {
            if (_state != FabricSessionState.Closed)
            {
                // Both loops ended without a close decision (cannot normally happen): make it explicit.
                _state = FabricSessionState.Closed;
                _closeError ??= new FabricSessionException(FabricErrorCode.LinkLost, "session loops ended", isRemote: false);
            }
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }

        _hardClosed = true;
        try
        {
            switch (_link)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // closing a broken link may fail; the session is over either way
        }

        _completion.TrySetResult();
    }
}
