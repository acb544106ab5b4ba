using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>
/// A peer that breaks the protocol: each case asserts the exact GOAWAY code the session sends, its
/// <see cref="FabricSession.CloseError"/>, and that the session ends cleanly (Completion, no unobserved exception).
/// </summary>
public class SessionBadInputTests
{
    public SessionBadInputTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task FirstFrame_NotHello_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.SendPingAsync(1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
        await Assert.ThrowsAsync<FabricSessionException>(() => peer.Session.Ready.WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task FirstFrame_OpenStreamBeforeHello_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.SendOpenAsync(1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
        Assert.Equal(0, peer.Session.Statistics.StreamsOpenedByPeer);
    }

    [Fact]
    public async Task Hello_SentTwice_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendHelloAsync();
        GoAwayFrame goAway = await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
        Assert.Contains("HELLO", goAway.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hello_WrongVersion_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.SendHelloAsync(version: 2);
        GoAwayFrame goAway = await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
        Assert.Contains("version", goAway.Reason, StringComparison.Ordinal);
        await Assert.ThrowsAsync<FabricSessionException>(() => peer.Session.Ready.WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task Frame_TruncatedThenLinkEnd_GoAwayFrameSizeError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        byte[] data = RawPeer.DataBytes(id, new byte[100]);
        await peer.SendAsync(data.AsMemory(0, FrameHeader.Size + 10)); // header promises 100 bytes, 10 come
        await peer.CompleteOutputAsync();
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FrameSizeError);
    }

    [Fact]
    public async Task Frame_HeaderCutShortThenLinkEnd_GoAwayFrameSizeError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendAsync(RawPeer.PingBytes(FrameType.Ping, 7).AsMemory(0, 5));
        await peer.CompleteOutputAsync();
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FrameSizeError);
    }

    [Fact]
    public async Task Data_LengthAboveMaxFramePayload_FrameSizeErrorBeforePayloadArrives()
    {
        await using RawPeer peer = RawPeer.Start(new FabricSessionOptions { MaxFramePayload = 16384 });
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);

        // Only the header: it says 60000 bytes. The session must not wait for them.
        await peer.SendAsync(RawPeer.HeaderBytes(FrameType.Data, 60000, id));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FrameSizeError);
    }

    [Theory]
    [InlineData(0x09)] // SESSION_READY: reserved for a later revision
    [InlineData(0x0B)] // NODE_PRESSURE: reserved
    [InlineData(0x7F)]
    [InlineData(0xFF)]
    public async Task Frame_UnknownType_GoAwayProtocolError(byte type)
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendAsync(RawPeer.HeaderBytes((FrameType)type, 0, 0));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Data_NeverOpenedStream_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendDataAsync(5, 10);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Data_OnSessionParityIdNeverOpened_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendDataAsync(2, 10); // the session (acceptor) would open 2, but has not
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Close_NeverOpenedStream_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendCloseAsync(9);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Data_StreamThatLeftTheTable_GoAwayStreamClosed()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendCloseAsync(id);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);
        Assert.Equal(0, await accepted.ReadAsync(new byte[8]).WaitAsync(TestTimeouts.Short));
        accepted.CompleteWrites();
        await peer.ExpectFrameAsync(FrameType.CloseStream, id);
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 0, "stream left the table");

        await peer.SendDataAsync(id, 10);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.StreamClosed);
    }

    [Fact]
    public async Task Close_StreamThatLeftTheTable_GoAwayStreamClosed()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendResetAsync(id, FabricErrorCode.Cancel);
        await peer.ExpectFrameAsync(FrameType.ResetStream, id); // the acknowledgement
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 0, "stream left the table");

        await peer.SendCloseAsync(id);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.StreamClosed);
    }

    [Fact]
    public async Task Data_AfterPeerClose_GoAwayStreamClosed()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendDataAsync(id, 10);
        await peer.SendCloseAsync(id);
        await peer.SendDataAsync(id, 10);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.StreamClosed);
    }

    [Fact]
    public async Task Close_SentTwice_GoAwayStreamClosed()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendCloseAsync(id);
        await peer.SendCloseAsync(id);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.StreamClosed);
    }

    [Fact]
    public async Task OpenStream_DuplicateId_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendOpenAsync(1);
        await peer.SendOpenAsync(1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task OpenStream_IdOutOfOrder_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendOpenAsync(5);
        await peer.SendOpenAsync(3);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Theory]
    [InlineData(SessionRole.Acceptor, 2u)]  // the raw peer initiates: it must use odd ids
    [InlineData(SessionRole.Initiator, 1u)] // the raw peer accepts: it must use even ids
    public async Task OpenStream_WrongParity_GoAwayProtocolError(SessionRole sessionRole, uint id)
    {
        await using RawPeer peer = RawPeer.Start(sessionRole: sessionRole);
        await peer.HandshakeAsync();
        await peer.SendOpenAsync(id);
        GoAwayFrame goAway = await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
        Assert.Contains("parity", goAway.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_BeyondStreamCredit_GoAwayFlowControlError()
    {
        await using RawPeer peer = RawPeer.Start(new FabricSessionOptions { InitialStreamWindow = 16 * 1024 });
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendDataAsync(id, 16 * 1024); // exactly the window: fine
        await peer.AssertAliveAsync();
        await peer.SendDataAsync(id, 1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FlowControlError);
        Assert.Contains("stream", peer.Session.CloseError!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_BeyondSessionCredit_GoAwayFlowControlError()
    {
        await using RawPeer peer = RawPeer.Start(new FabricSessionOptions { InitialStreamWindow = 16 * 1024, SessionWindow = 32 * 1024 });
        await peer.HandshakeAsync();
        uint a = peer.NextStreamId(), b = peer.NextStreamId(), c = peer.NextStreamId();
        await peer.SendOpenAsync(a);
        await peer.SendOpenAsync(b);
        await peer.SendOpenAsync(c);
        await peer.SendDataAsync(a, 16 * 1024);
        await peer.SendDataAsync(b, 16 * 1024); // session window used up, each stream within its own
        await peer.AssertAliveAsync();
        await peer.SendDataAsync(c, 1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FlowControlError);
        Assert.Contains("session credit", peer.Session.CloseError!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamCredit_OverflowOnStream_GoAwayFlowControlError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync(); // grants 256 KiB per stream
        FabricStream stream = await peer.Session.OpenStreamAsync(0x0100, "t").WaitAsync(TestTimeouts.Short);
        await peer.ExpectFrameAsync(FrameType.OpenStream, stream.Id);
        await peer.SendCreditAsync(stream.Id, int.MaxValue - (256 * 1024)); // exactly 2^31-1: allowed
        await peer.AssertAliveAsync();
        await peer.SendCreditAsync(stream.Id, 1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FlowControlError);
        await Assert.ThrowsAsync<FabricSessionException>(() => stream.WriteAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task StreamCredit_OverflowOnSession_GoAwayFlowControlError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync(); // session window 1 MiB
        await peer.SendCreditAsync(0, int.MaxValue - (1024 * 1024));
        await peer.AssertAliveAsync();
        await peer.SendCreditAsync(0, 1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FlowControlError);
    }

    [Fact]
    public async Task StreamCredit_OpenStreamInitialCreditAboveMaxWindow_GoAwayFlowControlError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendOpenAsync(1, initialCredit: (uint)int.MaxValue + 1);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.FlowControlError);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    public async Task StreamCredit_ZeroIncrement_GoAwayProtocolError(uint streamId)
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        if (streamId != 0)
        {
            await peer.SendOpenAsync(streamId);
        }

        await peer.SendCreditAsync(streamId, 0);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Pong_Unsolicited_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        RawFrame ping = await peer.ExpectFrameAsync(FrameType.Ping); // answered by the raw peer
        await peer.SendPongAsync(ping.Opaque); // a second answer to the same PING: none outstanding now
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Pong_WrongOpaque_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        peer.AnswerPings = false;
        await peer.HandshakeAsync();
        RawFrame ping = await peer.ExpectFrameAsync(FrameType.Ping);
        await peer.SendPongAsync(ping.Opaque ^ 0x5555);
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task Frame_ReservedFlags_GoAwayProtocolError()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendAsync(RawPeer.HeaderBytes(FrameType.CloseStream, 0, 1, flags: 0x01));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.ProtocolError);
    }

    [Fact]
    public async Task GoAway_WithErrorCode_ClosesAtOnceAsRemote()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);
        Task<int> pendingRead = accepted.ReadAsync(new byte[16]).AsTask();

        await peer.SendGoAwayAsync(id, FabricErrorCode.InternalError, "boom");
        List<RawFrame> frames = await peer.ExpectLinkEndAsync();
        Assert.DoesNotContain(frames, f => f.Type == FrameType.GoAway); // GOAWAY(error) is not answered
        await peer.CompleteOutputAsync();
        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        FabricSessionException? error = peer.Session.CloseError;
        Assert.NotNull(error);
        Assert.Equal(FabricErrorCode.InternalError, error.Code);
        Assert.True(error.IsRemote);
        FabricSessionException readError = await Assert.ThrowsAsync<FabricSessionException>(() => pendingRead.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.InternalError, readError.Code);
        UnobservedExceptions.AssertNoneFromFabricCore();
    }

    [Fact]
    public async Task Link_EndsWithoutGoAway_LinkLostForStreams()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);
        Task<int> pendingRead = accepted.ReadAsync(new byte[16]).AsTask();

        await peer.CompleteOutputAsync();
        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.LinkLost, peer.Session.CloseError?.Code);
        FabricSessionException readError = await Assert.ThrowsAsync<FabricSessionException>(() => pendingRead.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.LinkLost, readError.Code);
        UnobservedExceptions.AssertNoneFromFabricCore();
    }
}
