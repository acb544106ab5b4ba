using System.Diagnostics;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Ending a session at once: Abort with a code, DisposeAsync, and what streams and callers see afterwards.</summary>
public class SessionCloseTests
{
    public SessionCloseTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task Abort_WithCode_BothSidesCloseAndStreamsFailWithTheCode()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);
        Task<int> readA = a.ReadAsync(new byte[8]).AsTask();
        Task<int> readB = b.ReadAsync(new byte[8]).AsTask();
        var watch = Stopwatch.StartNew();

        pair.A.Abort(FabricErrorCode.InternalError, "node failure");

        FabricSessionException localRead = await Assert.ThrowsAsync<FabricSessionException>(() => readA.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.InternalError, localRead.Code);
        Assert.False(localRead.IsRemote);
        FabricSessionException remoteRead = await Assert.ThrowsAsync<FabricSessionException>(() => readB.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.InternalError, remoteRead.Code);
        Assert.True(remoteRead.IsRemote);
        Assert.Contains("node failure", remoteRead.Message, StringComparison.Ordinal);

        await Task.WhenAll(pair.A.Completion, pair.B.Completion).WaitAsync(TestTimeouts.Short);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"closing took {watch.ElapsedMilliseconds} ms");
        Assert.Equal(FabricErrorCode.InternalError, pair.B.CloseError?.Code);
        await Assert.ThrowsAsync<FabricSessionException>(() => a.WriteAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
        await Assert.ThrowsAsync<FabricSessionException>(() => pair.A.OpenStreamAsync(0x0100, "x").WaitAsync(TestTimeouts.Short));
        await Assert.ThrowsAsync<FabricSessionException>(() => pair.B.OpenStreamAsync(0x0100, "x").WaitAsync(TestTimeouts.Short));
        Assert.Null(await pair.B.AcceptStreamAsync().WaitAsync(TestTimeouts.Short));
        UnobservedExceptions.AssertNoneFromFabricCore();
    }

    [Fact]
    public async Task DisposeAsync_WithOpenStream_CompletesQuicklyAndPeerStreamFails()
    {
        await using var pair = await SessionPair.StartAsync();
        var (_, b) = await pair.A.OpenPairAsync(pair.B);
        Task<int> readB = b.ReadAsync(new byte[8]).AsTask();
        var watch = Stopwatch.StartNew();

        await pair.A.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);

        await Assert.ThrowsAsync<FabricSessionException>(() => readB.WaitAsync(TestTimeouts.Short));
        await pair.B.Completion.WaitAsync(TestTimeouts.Short);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"closing took {watch.ElapsedMilliseconds} ms");
        Assert.Equal(FabricSessionState.Closed, pair.B.State);
        UnobservedExceptions.AssertNoneFromFabricCore();
    }

    [Fact]
    public async Task AcceptStreamAsync_UnacceptedStreamsWhenSessionCloses_FailAndAcceptReturnsNull()
    {
        await using var pair = await SessionPair.StartAsync();
        FabricStream opened = await pair.A.OpenStreamAsync(0x0100, "never accepted").WaitAsync(TestTimeouts.Short);
        await Eventually.TrueAsync(() => pair.B.ActiveStreamCount == 1, "stream reached the peer");

        pair.B.Abort(FabricErrorCode.InternalError, "going down");
        await Assert.ThrowsAsync<FabricSessionException>(() => opened.ReadAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
        Assert.Null(await pair.B.AcceptStreamAsync().WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task PeerStopsReadingAndStaysSilent_SessionEndsWithLinkLostAfterGrace()
    {
        await using RawPeer peer = RawPeer.Start(new FabricSessionOptions { IdleTimeout = TimeSpan.Zero });
        await peer.HandshakeAsync();
        await peer.CompleteInputAsync();
        await peer.SendPingAsync(42); // the session's PONG finds nobody reading

        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.LinkLost, peer.Session.CloseError?.Code);
    }

    [Fact]
    public async Task Start_Twice_Throws()
    {
        await using var pair = await SessionPair.StartAsync();
        Assert.Throws<InvalidOperationException>(pair.A.Start);
    }

    [Fact]
    public async Task Options_OutOfRange_RejectedAtConstruction()
    {
        var (link, other) = Fabric.Core.Links.InMemoryLink.CreatePair();
        await using (link)
        await using (other)
        {
            ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(
                () => new FabricSession(link, SessionRole.Initiator, new FabricSessionOptions { MaxFramePayload = 100 }));
            Assert.Equal("MaxFramePayload", error.ParamName);
            Assert.Throws<ArgumentOutOfRangeException>(
                () => new FabricSession(link, SessionRole.Initiator, new FabricSessionOptions { SessionWindow = 1024, InitialStreamWindow = 256 * 1024 }));
        }
    }
}
