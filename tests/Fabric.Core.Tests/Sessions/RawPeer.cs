using System.Buffers;
using System.IO.Pipelines;
using Fabric.Core.Framing;
using Fabric.Core.Links;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>
/// A test double that speaks raw frames over one end of an <see cref="InMemoryLink"/> against a real
/// <see cref="FabricSession"/> on the other end. It sends whatever bytes a test makes (well-formed frames through
/// the codec, or hand-made bytes), and reads and parses what the session sends. It reads only when a test asks
/// it to, so a test can also make it a peer that never reads.
/// </summary>
internal sealed class RawPeer : IAsyncDisposable
{
    /// <summary>The settings the raw peer announces unless a test gives others.</summary>
    public static readonly SessionSettings DefaultSettings = new(16 * 1024, 100, 256 * 1024, 1024 * 1024);

    private readonly InMemoryLink _link;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private uint _nextStreamId;
    private bool _outputCompleted;

    private RawPeer(InMemoryLink link, FabricSession session)
    {
        _link = link;
        Session = session;
        _nextStreamId = session.Role == SessionRole.Acceptor ? 1u : 2u;
    }

    /// <summary>The real session under test.</summary>
    public FabricSession Session { get; }

    /// <summary>Every frame read so far, in order.</summary>
    public List<RawFrame> Received { get; } = [];

    /// <summary>When true (default), a PING read from the session is answered with PONG at once.</summary>
    public bool AnswerPings { get; set; } = true;

    /// <summary>Starts a session (acceptor unless told otherwise) on one end of a fresh link; the raw peer gets the other end.</summary>
    public static RawPeer Start(FabricSessionOptions? options = null, SessionRole sessionRole = SessionRole.Acceptor)
    {
        var (sessionEnd, rawEnd) = InMemoryLink.CreatePair();
        var session = new FabricSession(sessionEnd, sessionRole, options);
        session.Start();
        return new RawPeer(rawEnd, session);
    }

    /// <summary>Sends HELLO, reads the session's HELLO and waits until the session is ready.</summary>
    public async Task<HelloFrame> HandshakeAsync(SessionSettings? settings = null)
    {
        await SendHelloAsync(settings);
        RawFrame hello = await ExpectFrameAsync(FrameType.Hello);
        await Session.Ready.WaitAsync(TestTimeouts.Short);
        return hello.Hello;
    }

    /// <summary>The next stream id of the raw peer's parity (odd when the session accepts, even when it initiates).</summary>
    public uint NextStreamId()
    {
        uint id = _nextStreamId;
        _nextStreamId += 2;
        return id;
    }

    // ---------------------------------------------------------------- building frames

    public static byte[] HelloBytes(SessionSettings? settings = null, ushort version = HelloFrame.CurrentVersion)
    {
        var frame = new byte[HelloFrame.FrameSize];
        return frame[..new HelloFrame(version, settings ?? DefaultSettings).WriteTo(frame)];
    }

    public static byte[] OpenBytes(uint id, uint initialCredit = 256 * 1024, TrafficClass trafficClass = TrafficClass.Reliable, string target = "raw", ushort subprotocol = 0x0100)
    {
        var frame = new byte[FrameHeader.Size + OpenStreamFrame.FixedSize + OpenStreamFrame.MaxTargetBytes];
        return frame[..new OpenStreamFrame(id, subprotocol, trafficClass, initialCredit, target).WriteTo(frame)];
    }

    public static byte[] DataBytes(uint id, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameHeader.Size + payload.Length];
        FrameWriter.WriteDataHeader(frame, id, payload.Length);
        payload.CopyTo(frame.AsSpan(FrameHeader.Size));
        return frame;
    }

    public static byte[] CreditBytes(uint id, uint increment)
    {
        var frame = new byte[FrameWriter.CreditFrameSize];
        FrameWriter.WriteStreamCredit(frame, id, increment);
        return frame;
    }

    public static byte[] CloseBytes(uint id)
    {
        var frame = new byte[FrameWriter.CloseFrameSize];
        FrameWriter.WriteClose(frame, id);
        return frame;
    }

    public static byte[] ResetBytes(uint id, FabricErrorCode code)
    {
        var frame = new byte[FrameWriter.ResetFrameSize];
        FrameWriter.WriteReset(frame, id, code);
        return frame;
    }

    public static byte[] PingBytes(FrameType pingOrPong, ulong opaque)
    {
        var frame = new byte[FrameWriter.PingFrameSize];
        FrameWriter.WritePing(frame, pingOrPong, opaque);
        return frame;
    }

    public static byte[] GoAwayBytes(uint lastStreamId, FabricErrorCode code, string reason = "")
    {
        var frame = new byte[GoAwayFrame.MaxFrameSize];
        return frame[..new GoAwayFrame(lastStreamId, code, reason).WriteTo(frame)];
    }

    /// <summary>Only an 8-byte header, whatever it claims.</summary>
    public static byte[] HeaderBytes(FrameType type, int length, uint streamId, byte flags = 0)
    {
        var frame = new byte[FrameHeader.Size];
        new FrameHeader(type, flags, length, streamId).Write(frame);
        return frame;
    }

    /// <summary>Concatenates frames into one buffer, so the session receives them in one read.</summary>
    public static byte[] Concat(IEnumerable<byte[]> frames) => [.. frames.SelectMany(f => f)];

    // ---------------------------------------------------------------- sending

    /// <summary>Writes raw bytes and flushes. Returns false when the session no longer reads (its end of the link is gone).</summary>
    public async Task<bool> SendAsync(ReadOnlyMemory<byte> bytes, TimeSpan? timeout = null)
    {
        await _sendLock.WaitAsync(TestTimeouts.Short);
        try
        {
            if (_outputCompleted)
            {
                return false;
            }

            FlushResult result = await _link.Output.WriteAsync(bytes).WaitAsync(timeout ?? TestTimeouts.Short);
            return !result.IsCompleted;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public Task<bool> SendHelloAsync(SessionSettings? settings = null, ushort version = HelloFrame.CurrentVersion)
        => SendAsync(HelloBytes(settings, version));

    public Task<bool> SendOpenAsync(uint id, uint initialCredit = 256 * 1024, TrafficClass trafficClass = TrafficClass.Reliable)
        => SendAsync(OpenBytes(id, initialCredit, trafficClass));

    public Task<bool> SendDataAsync(uint id, int length, byte fill = 0x5a)
    {
        byte[] payload = new byte[length];
        payload.AsSpan().Fill(fill);
        return SendAsync(DataBytes(id, payload));
    }

    public Task<bool> SendDataAsync(uint id, ReadOnlySpan<byte> payload) => SendAsync(DataBytes(id, payload));

    public Task<bool> SendCreditAsync(uint id, uint increment) => SendAsync(CreditBytes(id, increment));

    public Task<bool> SendCloseAsync(uint id) => SendAsync(CloseBytes(id));

    public Task<bool> SendResetAsync(uint id, FabricErrorCode code) => SendAsync(ResetBytes(id, code));

    public Task<bool> SendPingAsync(ulong opaque) => SendAsync(PingBytes(FrameType.Ping, opaque));

    public Task<bool> SendPongAsync(ulong opaque) => SendAsync(PingBytes(FrameType.Pong, opaque));

    public Task<bool> SendGoAwayAsync(uint lastStreamId, FabricErrorCode code, string reason = "")
        => SendAsync(GoAwayBytes(lastStreamId, code, reason));

    /// <summary>Ends the raw peer's sending direction (the session sees the link end).</summary>
    public async Task CompleteOutputAsync()
    {
        await _sendLock.WaitAsync(TestTimeouts.Short);
        try
        {
            _outputCompleted = true;
            await _link.Output.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Stops reading for good (the session's sends then find the link's far end gone); sending goes on.</summary>
    public Task CompleteInputAsync() => _link.Input.CompleteAsync().AsTask().WaitAsync(TestTimeouts.Short);

    // ---------------------------------------------------------------- reading

    /// <summary>Reads the next frame the session sent; null when the session closed its sending direction.</summary>
    public async Task<RawFrame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TestTimeouts.Short);
        PipeReader input = _link.Input;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"no frame from the session within {timeout ?? TestTimeouts.Short}; received so far: {Describe()}");
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            if (FrameReader.TryReadFrame(ref buffer, FrameHeader.MaxPayload, out FrameHeader header, out ReadOnlySequence<byte> payload))
            {
                var frame = new RawFrame(header, payload.ToArray());
                input.AdvanceTo(buffer.Start);
                Received.Add(frame);
                if (AnswerPings && frame.Type == FrameType.Ping)
                {
                    await SendPongAsync(frame.Opaque);
                }

                return frame;
            }

            if (result.IsCompleted)
            {
                long left = buffer.Length;
                input.AdvanceTo(buffer.End);
                Assert.True(left == 0, $"the session's link ended inside a frame ({left} bytes)");
                return null;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads until a frame of <paramref name="type"/> (and stream, if given) arrives; fails on link end or timeout.</summary>
    public async Task<RawFrame> ExpectFrameAsync(FrameType type, uint? streamId = null, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TestTimeouts.Short);
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no {FrameReader.Name(type)} from the session; received: {Describe()}");
            }

            RawFrame? frame = await ReadFrameAsync(left);
            if (frame is null)
            {
                Assert.Fail($"the session closed the link before sending {FrameReader.Name(type)}; received: {Describe()}");
            }

            if (frame.Type == type && (streamId is null || frame.StreamId == streamId))
            {
                return frame;
            }
        }
    }

    /// <summary>Reads until GOAWAY and asserts its error code.</summary>
    public async Task<GoAwayFrame> ExpectGoAwayAsync(FabricErrorCode code, TimeSpan? timeout = null)
    {
        GoAwayFrame goAway = (await ExpectFrameAsync(FrameType.GoAway, timeout: timeout)).GoAway;
        Assert.True(code == goAway.Code, $"GOAWAY code {goAway.Code} ('{goAway.Reason}'), expected {code}");
        return goAway;
    }

    /// <summary>Reads and keeps frames until the session closes its sending direction; returns the frames read meanwhile.</summary>
    public async Task<List<RawFrame>> ExpectLinkEndAsync(TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TestTimeouts.Short);
        var frames = new List<RawFrame>();
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"the session did not close the link; received: {Describe()}");
            }

            RawFrame? frame = await ReadFrameAsync(left);
            if (frame is null)
            {
                return frames;
            }

            frames.Add(frame);
        }
    }

    /// <summary>Asserts that nothing arrives for <paramref name="quiet"/> (the link stays open and silent but for PINGs).</summary>
    public async Task ExpectNoFrameAsync(TimeSpan quiet, Func<RawFrame, bool>? ignore = null)
    {
        DateTime deadline = DateTime.UtcNow + quiet;
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            RawFrame? frame;
            try
            {
                frame = await ReadFrameAsync(left);
            }
            catch (TimeoutException)
            {
                return;
            }

            Assert.True(frame is not null, "the session closed the link");
            Assert.True(frame.Type is FrameType.Ping or FrameType.Pong || ignore?.Invoke(frame) == true, $"unexpected frame {frame}");
        }
    }

    /// <summary>Sends a PING and waits for its PONG: proof that the session still reads and answers.</summary>
    public async Task AssertAliveAsync()
    {
        ulong opaque = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        Assert.True(await SendPingAsync(opaque), "the session stopped reading");
        while (true)
        {
            RawFrame frame = await ExpectFrameAsync(FrameType.Pong);
            if (frame.Opaque == opaque)
            {
                return;
            }
        }
    }

    /// <summary>Bytes the session has written that the raw peer has not read yet.</summary>
    public long UnreadBytes()
    {
        if (!_link.Input.TryRead(out ReadResult result))
        {
            return 0;
        }

        long length = result.Buffer.Length;
        _link.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        return length;
    }

    public string Describe() => string.Join(", ", Received.TakeLast(40));

    /// <summary>Closes the raw end of the link and disposes the session.</summary>
    public async ValueTask DisposeAsync()
    {
        await _link.DisposeAsync();
        await Session.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        _sendLock.Dispose();
    }
}
