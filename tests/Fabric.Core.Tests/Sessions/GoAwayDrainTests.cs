using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>GOAWAY(NO_ERROR): no new streams, open ones finish, both sides close cleanly.</summary>
public class GoAwayDrainTests
{
    public GoAwayDrainTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task GoAway_WithOpenStream_NewOpensFailStreamCompletesBothClose()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);

        Task drained = pair.A.GoAwayAsync("maintenance");
        Assert.Equal(FabricSessionState.Draining, pair.A.State);
        await Assert.ThrowsAsync<FabricSessionException>(() => pair.A.OpenStreamAsync(0x0100, "late").WaitAsync(TestTimeouts.Short));
        await Eventually.TrueAsync(() => pair.B.State == FabricSessionState.Draining, "peer drains on GOAWAY");
        await Assert.ThrowsAsync<FabricSessionException>(() => pair.B.OpenStreamAsync(0x0100, "late").WaitAsync(TestTimeouts.Short));
        Assert.Null(await pair.B.AcceptStreamAsync().WaitAsync(TestTimeouts.Short));

        // The open stream runs to completion in both directions.
        await a.WriteAsync("request"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        a.CompleteWrites();
        Assert.Equal("request"u8.ToArray(), await b.ReadToEndAsync());
        await b.WriteAsync("response"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        Assert.False(drained.IsCompleted);
        b.CompleteWrites();
        Assert.Equal("response"u8.ToArray(), await a.ReadToEndAsync());

        await drained.WaitAsync(TestTimeouts.Short);
        await pair.B.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricSessionState.Closed, pair.A.State);
        Assert.Equal(FabricSessionState.Closed, pair.B.State);
        Assert.Null(pair.A.CloseError);
        Assert.Null(pair.B.CloseError);
        UnobservedExceptions.AssertNoneFromFabricCore();
    }

    [Fact]
    public async Task GoAway_NoStreams_BothCloseCleanly()
    {
        await using var pair = await SessionPair.StartAsync();
        await pair.B.GoAwayAsync().WaitAsync(TestTimeouts.Short);
        await pair.A.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Null(pair.A.CloseError);
        Assert.Null(pair.B.CloseError);
    }

    [Fact]
    public async Task GoAway_OnWire_AnsweredWithGoAwayAndLinkClosed()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        await peer.SendGoAwayAsync(0, FabricErrorCode.NoError, "bye");
        GoAwayFrame answer = await peer.ExpectGoAwayAsync(FabricErrorCode.NoError);
        Assert.Equal(0u, answer.LastStreamId);
        await peer.ExpectLinkEndAsync();
        await peer.CompleteOutputAsync();
        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Null(peer.Session.CloseError);
    }

    [Fact]
    public async Task GoAway_FromPeer_OurStreamsAboveLastIdRefusedAndRetryable()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        FabricStream stream = await peer.Session.OpenStreamAsync(0x0100, "t").WaitAsync(TestTimeouts.Short);
        await peer.ExpectFrameAsync(FrameType.OpenStream, stream.Id);
        Task<int> pendingRead = stream.ReadAsync(new byte[1]).AsTask();

        await peer.SendGoAwayAsync(0, FabricErrorCode.NoError); // "I processed none of your streams"

        FabricStreamException error = await Assert.ThrowsAsync<FabricStreamException>(() => pendingRead.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.RefusedStream, error.Code);
        Assert.True(error.IsRetryable);
        await peer.ExpectGoAwayAsync(FabricErrorCode.NoError);
        await peer.SendResetAsync(stream.Id, FabricErrorCode.RefusedStream);
        await peer.ExpectLinkEndAsync();
        await peer.CompleteOutputAsync();
        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Null(peer.Session.CloseError);
    }

    [Fact]
    public async Task GoAway_Sent_PeerOpensAfterwardAreRefusedAndOpenStreamFinishes()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint open = peer.NextStreamId();
        await peer.SendOpenAsync(open);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);

        Task drained = peer.Session.GoAwayAsync();
        GoAwayFrame goAway = await peer.ExpectGoAwayAsync(FabricErrorCode.NoError);
        Assert.Equal(open, goAway.LastStreamId);

        uint late = peer.NextStreamId();
        await peer.SendOpenAsync(late);
        RawFrame refused = await peer.ExpectFrameAsync(FrameType.ResetStream, late);
        Assert.Equal(FabricErrorCode.RefusedStream, refused.ResetCode);
        await peer.SendResetAsync(late, FabricErrorCode.RefusedStream);
        await peer.SendGoAwayAsync(0, FabricErrorCode.NoError);

        await peer.SendDataAsync(open, "still works"u8);
        await peer.SendCloseAsync(open);
        Assert.Equal("still works"u8.ToArray(), await accepted.ReadToEndAsync());
        Assert.False(drained.IsCompleted);
        accepted.CompleteWrites();
        await peer.ExpectFrameAsync(FrameType.CloseStream, open);
        await peer.ExpectLinkEndAsync();
        await peer.CompleteOutputAsync();
        await drained.WaitAsync(TestTimeouts.Short);
        Assert.Null(peer.Session.CloseError);
    }

    [Fact]
    public async Task GoAway_DrainTimeout_ClosesWithTimeout()
    {
        await using var pair = await SessionPair.StartAsync(a: new FabricSessionOptions { DrainTimeout = TimeSpan.FromMilliseconds(300), PingInterval = TimeSpan.FromMilliseconds(100) });
        var (a, _) = await pair.A.OpenPairAsync(pair.B);
        await pair.A.GoAwayAsync().WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.Timeout, pair.A.CloseError?.Code);
        await Assert.ThrowsAsync<FabricSessionException>(() => a.ReadAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
        await pair.B.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.Timeout, pair.B.CloseError?.Code);
        Assert.True(pair.B.CloseError?.IsRemote);
    }
}
