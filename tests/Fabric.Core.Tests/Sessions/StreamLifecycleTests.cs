using System.Security.Cryptography;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Stream state machine between two real sessions (and a raw peer where the wire order matters).</summary>
public class StreamLifecycleTests
{
    public StreamLifecycleTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task CompleteWrites_OpenerHalfCloses_PeerReadsEndAndStillSends()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        await a.WriteAsync("hello"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        a.CompleteWrites();
        Assert.Equal("hello"u8.ToArray(), await b.ReadToEndAsync());
        Assert.Equal(0, await b.ReadAsync(new byte[4]).WaitAsync(TestTimeouts.Short)); // end of stream stays end of stream

        await b.WriteAsync("world"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        Assert.Equal("world"u8.ToArray(), await a.ReadBytesAsync(5));
        Assert.Equal(1, pair.A.ActiveStreamCount);
        b.CompleteWrites();
        Assert.Equal(0, await a.ReadAsync(new byte[4]).WaitAsync(TestTimeouts.Short));

        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "stream left both tables");
    }

    [Fact]
    public async Task CompleteWrites_AcceptorHalfClosesFirst_OpenerStillSends()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        b.CompleteWrites();
        Assert.Equal(0, await a.ReadAsync(new byte[4]).WaitAsync(TestTimeouts.Short));

        byte[] payload = RandomNumberGenerator.GetBytes(300_000);
        Task<byte[]> received = b.ReadToEndAsync();
        await a.WriteAsync(payload).WaitAsync(TestTimeouts.Short);
        Assert.Equal(1, pair.B.ActiveStreamCount);
        a.CompleteWrites();
        Assert.Equal(payload, await received.WaitAsync(TestTimeouts.Long));

        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "stream left both tables");
    }

    [Fact]
    public async Task WriteAsync_AfterCompleteWrites_ThrowsInvalidOperation()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, _) = await pair.A.OpenPairAsync(pair.B);
        a.CompleteWrites();
        await Assert.ThrowsAsync<InvalidOperationException>(() => a.WriteAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Abort_EitherSide_ReaderAndWriterSeeCodeAndSide(bool openerAborts)
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);
        FabricStream aborter = openerAborts ? a : b;
        FabricStream other = openerAborts ? b : a;
        Task<int> otherRead = other.ReadAsync(new byte[16]).AsTask();

        aborter.Abort(FabricErrorCode.AccessDenied);

        FabricStreamException remoteRead = await Assert.ThrowsAsync<FabricStreamException>(() => otherRead.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.AccessDenied, remoteRead.Code);
        Assert.True(remoteRead.IsRemote);
        Assert.False(remoteRead.IsRetryable);
        FabricStreamException remoteWrite = await Assert.ThrowsAsync<FabricStreamException>(() => other.WriteAsync(new byte[16]).WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.AccessDenied, remoteWrite.Code);
        Assert.True(remoteWrite.IsRemote);

        FabricStreamException localRead = await Assert.ThrowsAsync<FabricStreamException>(() => aborter.ReadAsync(new byte[16]).WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.AccessDenied, localRead.Code);
        Assert.False(localRead.IsRemote);
        FabricStreamException localWrite = await Assert.ThrowsAsync<FabricStreamException>(() => aborter.WriteAsync(new byte[16]).WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.AccessDenied, localWrite.Code);
        Assert.False(localWrite.IsRemote);

        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "reset stream left both tables");
        Assert.Equal(FabricSessionState.Open, pair.A.State);
        Assert.Equal(FabricSessionState.Open, pair.B.State);
    }

    [Fact]
    public async Task Abort_WhileWriteBlocked_WriteFailsWithLocalReset()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, _) = await pair.A.OpenPairAsync(pair.B);
        Task blocked = a.WriteAsync(new byte[2 * 1024 * 1024]).AsTask(); // 256 KiB credit + 256 KiB buffer: waits
        await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        Assert.False(blocked.IsCompleted);

        a.Abort();
        FabricStreamException error = await Assert.ThrowsAsync<FabricStreamException>(() => blocked.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.Cancel, error.Code);
        Assert.False(error.IsRemote);
        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "reset stream left both tables");
    }

    [Fact]
    public async Task Abort_Local_StreamStaysInTableUntilPeerAcknowledges()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        FabricStream stream = await peer.Session.OpenStreamAsync(0x0100, "t").WaitAsync(TestTimeouts.Short);
        await peer.ExpectFrameAsync(FrameType.OpenStream, stream.Id);

        stream.Abort(FabricErrorCode.NoRoute);
        RawFrame reset = await peer.ExpectFrameAsync(FrameType.ResetStream, stream.Id);
        Assert.Equal(FabricErrorCode.NoRoute, reset.ResetCode);
        await peer.AssertAliveAsync();
        Assert.Equal(1, peer.Session.ActiveStreamCount); // sent RESET, not yet acknowledged

        await peer.SendDataAsync(stream.Id, 100); // in flight before the peer saw our RESET: dropped, not an error
        await peer.SendResetAsync(stream.Id, FabricErrorCode.NoRoute);
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 0, "acknowledged reset left the table");
        await peer.AssertAliveAsync();
    }

    [Fact]
    public async Task Reset_FromPeer_AnsweredWithResetAndStreamRemoved()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendDataAsync(id, 10);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);

        await peer.SendResetAsync(id, FabricErrorCode.Cancel);
        RawFrame answer = await peer.ExpectFrameAsync(FrameType.ResetStream, id);
        Assert.Equal(FabricErrorCode.Cancel, answer.ResetCode);
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 0, "reset stream left the table");

        FabricStreamException error = await Assert.ThrowsAsync<FabricStreamException>(() => accepted.ReadAsync(new byte[16]).WaitAsync(TestTimeouts.Short));
        Assert.True(error.IsRemote);
        Assert.Equal(FabricErrorCode.Cancel, error.Code);

        // Late STREAM_CREDIT and RESET for the closed stream race the close: ignored.
        await peer.SendCreditAsync(id, 1000);
        await peer.SendResetAsync(id, FabricErrorCode.Cancel);
        await peer.AssertAliveAsync();
        Assert.Equal(FabricSessionState.Open, peer.Session.State);
    }

    [Fact]
    public async Task Reset_AfterOurClose_NotAnsweredAndStreamRemoved()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);
        accepted.CompleteWrites();
        await peer.ExpectFrameAsync(FrameType.CloseStream, id);

        await peer.SendResetAsync(id, FabricErrorCode.Cancel);
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 0, "stream left the table");
        await peer.AssertAliveAsync();
        Assert.DoesNotContain(peer.Received, f => f.Type == FrameType.ResetStream); // our side was already done
    }

    [Fact]
    public async Task Dispose_AfterWrite_PeerReadsAllBufferedDataThenEnd()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);
        byte[] payload = RandomNumberGenerator.GetBytes(1_000_000);

        Task<byte[]> received = b.ReadToEndAsync();
        await a.WriteAsync(payload).WaitAsync(TestTimeouts.Long);
        await a.DisposeAsync().WaitAsync(TestTimeouts.Short);

        Assert.Equal(payload, await received.WaitAsync(TestTimeouts.Long));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => a.ReadAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task Dispose_WhilePeerStillSends_PeerReadsOurDataAndItsWritesFailWithCancel()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        await a.WriteAsync("last words"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        a.Dispose();

        Assert.Equal("last words"u8.ToArray(), await b.ReadToEndAsync());
        FabricStreamException error = await Assert.ThrowsAsync<FabricStreamException>(async () =>
        {
            for (int i = 0; i < 1000; i++)
            {
                await b.WriteAsync(new byte[1024]).WaitAsync(TestTimeouts.Short);
                await Task.Delay(1).WaitAsync(TestTimeouts.Short);
            }
        });
        Assert.Equal(FabricErrorCode.Cancel, error.Code);
        Assert.True(error.IsRemote);
        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0, "stream left both tables");
    }

    [Fact]
    public async Task Dispose_WhilePeerStillSends_WireOrderIsDataCloseResetCancel()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);

        await accepted.WriteAsync("bye"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        accepted.Dispose();

        Assert.Equal(FrameType.Data, (await peer.ExpectFrameAsync(FrameType.Data, id)).Type);
        RawFrame next = await ReadStreamFrameAsync(peer, id);
        Assert.Equal(FrameType.CloseStream, next.Type);
        next = await ReadStreamFrameAsync(peer, id);
        Assert.Equal(FrameType.ResetStream, next.Type);
        Assert.Equal(FabricErrorCode.Cancel, next.ResetCode);

        // DATA the peer sent before it saw our RESET is dropped quietly; its RESET answer removes the stream.
        await peer.SendDataAsync(id, 100);
        Assert.Equal(1, peer.Session.ActiveStreamCount);
        await peer.SendResetAsync(id, FabricErrorCode.Cancel);
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 0, "stream left the table");
        await peer.AssertAliveAsync();
    }

    [Fact]
    public async Task Dispose_AfterPeerClosed_CloseOnlyAndStreamRemoved()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendDataAsync(id, 10);
        await peer.SendCloseAsync(id);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);
        Assert.Equal(10, (await accepted.ReadToEndAsync()).Length);

        accepted.Dispose();
        await peer.ExpectFrameAsync(FrameType.CloseStream, id);
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 0, "stream left the table");
        await peer.AssertAliveAsync();
        Assert.DoesNotContain(peer.Received, f => f.Type == FrameType.ResetStream);
    }

    [Fact]
    public async Task Dispose_WithReadPending_ReadFailsAtOnceWithObjectDisposed()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);
        Task<int> pending = accepted.ReadAsync(new byte[16]).AsTask();

        accepted.Dispose(); // the peer is slow to acknowledge the RESET(CANCEL) that follows our CLOSE
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(TestTimeouts.Short));
        await peer.ExpectFrameAsync(FrameType.ResetStream, id);
    }

    [Fact]
    public async Task Dispose_WithWriteBlocked_WriteFailsAtOnceAndQueuedDataStillArrives()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);
        byte[] big = new byte[2 * 1024 * 1024];
        big.AsSpan().Fill(7);
        Task blocked = a.WriteAsync(big).AsTask(); // the peer does not read: 256 KiB credit + 256 KiB buffer, then waits
        await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        Assert.False(blocked.IsCompleted);

        a.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => blocked.WaitAsync(TestTimeouts.Short));

        // What was queued before the dispose is delivered, then the end of the stream.
        byte[] received = await b.ReadToEndAsync();
        Assert.InRange(received.Length, 256 * 1024, big.Length - 1);
        Assert.True(received.AsSpan().IndexOfAnyExcept((byte)7) < 0);
    }

    [Fact]
    public async Task Dispose_UnreadData_SessionCreditReturned()
    {
        var options = new FabricSessionOptions { InitialStreamWindow = 64 * 1024, SessionWindow = 128 * 1024 };
        await using var pair = await SessionPair.StartAsync(b: options);
        for (int i = 0; i < 8; i++)
        {
            // Each stream fills its window and is disposed unread; without returned credit the session window
            // (two windows) would run dry by the third stream.
            var (a, b) = await pair.A.OpenPairAsync(pair.B);
            await a.WriteAsync(new byte[64 * 1024]).WaitAsync(TestTimeouts.Short);
            await Eventually.TrueAsync(() => pair.A.Statistics.DataBytesSent(TrafficClass.Reliable) >= (i + 1) * 64L * 1024, "window sent");
            await Task.Delay(10).WaitAsync(TestTimeouts.Short);
            b.Dispose();
            a.Dispose();
        }

        var (x, y) = await pair.A.OpenPairAsync(pair.B);
        await x.WriteAsync(new byte[1000]).WaitAsync(TestTimeouts.Short);
        Assert.Equal(1000, (await y.ReadBytesAsync(1000)).Length);
    }

    [Fact]
    public async Task ReadAsync_ZeroByte_WaitsForDataWithoutConsumingIt()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        Task<int> zero = b.ReadAsync(Memory<byte>.Empty).AsTask();
        await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        Assert.False(zero.IsCompleted);
        await a.WriteAsync("data"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        Assert.Equal(0, await zero.WaitAsync(TestTimeouts.Short));

        // Data available: a zero-byte read returns at once and still consumes nothing.
        Assert.Equal(0, await b.ReadAsync(Memory<byte>.Empty).WaitAsync(TestTimeouts.Short));
        Assert.Equal("data"u8.ToArray(), await b.ReadBytesAsync(4));

        a.CompleteWrites();
        Assert.Equal(0, await b.ReadAsync(Memory<byte>.Empty).WaitAsync(TestTimeouts.Short));
        Assert.Equal(0, await b.ReadAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task ReadAsync_PendingCanceled_ThrowsAndStreamStillReads()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        using var cts = new CancellationTokenSource();
        Task<int> pending = b.ReadAsync(new byte[16], cts.Token).AsTask();
        await Task.Delay(20).WaitAsync(TestTimeouts.Short);
        await cts.CancelAsync().WaitAsync(TestTimeouts.Short);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TestTimeouts.Short));

        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync().WaitAsync(TestTimeouts.Short);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b.ReadAsync(new byte[16], canceled.Token).WaitAsync(TestTimeouts.Short));

        await a.WriteAsync("abc"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        Assert.Equal("abc"u8.ToArray(), await b.ReadBytesAsync(3));
    }

    [Fact]
    public async Task WriteAsync_BlockedThenCanceled_ThrowsAndStreamStillWrites()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        byte[] big = new byte[2 * 1024 * 1024];
        big.AsSpan().Fill(1);
        using var cts = new CancellationTokenSource();
        Task blocked = a.WriteAsync(big, cts.Token).AsTask(); // the peer does not read: waits for buffer space
        await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        Assert.False(blocked.IsCompleted);
        await cts.CancelAsync().WaitAsync(TestTimeouts.Short);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(TestTimeouts.Short));

        Task<byte[]> received = b.ReadToEndAsync();
        await a.WriteAsync("tail"u8.ToArray()).WaitAsync(TestTimeouts.Long);
        a.CompleteWrites();
        byte[] all = await received.WaitAsync(TestTimeouts.Long);
        Assert.True(all.Length >= (256 * 1024) + 4, $"only {all.Length} bytes");
        Assert.Equal("tail"u8.ToArray(), all[^4..]);
        Assert.True(all.AsSpan(0, all.Length - 4).IndexOfAnyExcept((byte)1) < 0, "the canceled write's queued prefix is intact");
    }

    private static async Task<RawFrame> ReadStreamFrameAsync(RawPeer peer, uint id)
    {
        while (true)
        {
            RawFrame? frame = await peer.ReadFrameAsync();
            Assert.NotNull(frame);
            if (frame.StreamId == id)
            {
                return frame;
            }
        }
    }
}
