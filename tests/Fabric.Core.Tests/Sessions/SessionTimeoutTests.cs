using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>HELLO timeout, idle timeout and keepalive, RTT measurement, with short real timeouts.</summary>
[Collection(TimingCollection.Name)]
public class SessionTimeoutTests
{
    public SessionTimeoutTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task HelloTimeout_PeerNeverSendsHello_GoAwayTimeout()
    {
        var options = new FabricSessionOptions { HelloTimeout = TimeSpan.FromMilliseconds(300), PingInterval = TimeSpan.FromMilliseconds(50) };
        await using RawPeer peer = RawPeer.Start(options);
        await peer.ExpectFrameAsync(FrameType.Hello);
        GoAwayFrame goAway = await peer.ExpectGoAwayAsync(FabricErrorCode.Timeout);
        Assert.Contains("HELLO", goAway.Reason, StringComparison.Ordinal);
        FabricSessionException error = await Assert.ThrowsAsync<FabricSessionException>(() => peer.Session.Ready.WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.Timeout, error.Code);
        await Assert.ThrowsAsync<FabricSessionException>(() => peer.Session.OpenStreamAsync(0x0100, "x").WaitAsync(TestTimeouts.Short));
        await peer.ExpectLinkEndAsync();
        await peer.CompleteOutputAsync();
        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.Timeout, peer.Session.CloseError?.Code);
    }

    [Fact]
    public async Task IdleTimeout_PeerSilent_GoAwayTimeout()
    {
        var options = new FabricSessionOptions { IdleTimeout = TimeSpan.FromMilliseconds(300), PingInterval = TimeSpan.FromMilliseconds(50) };
        await using RawPeer peer = RawPeer.Start(options);
        peer.AnswerPings = false; // a peer that stopped answering
        await peer.HandshakeAsync();
        DateTime start = DateTime.UtcNow;
        GoAwayFrame goAway = await peer.ExpectGoAwayAsync(FabricErrorCode.Timeout);
        Assert.True(DateTime.UtcNow - start >= TimeSpan.FromMilliseconds(250), "closed before the idle timeout");
        Assert.Contains("nothing received", goAway.Reason, StringComparison.Ordinal);
        await peer.ExpectLinkEndAsync();
        await peer.CompleteOutputAsync();
        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.Timeout, peer.Session.CloseError?.Code);
    }

    [Fact]
    public async Task IdleTimeout_LivePeerAnswersPings_SessionStaysOpen()
    {
        var options = new FabricSessionOptions { IdleTimeout = TimeSpan.FromMilliseconds(400), PingInterval = TimeSpan.FromMilliseconds(50) };
        await using var pair = await SessionPair.StartAsync(options, options);
        await Task.Delay(TimeSpan.FromMilliseconds(1500)).WaitAsync(TestTimeouts.Short); // nearly 4 idle timeouts without application traffic
        Assert.True(pair.A.State == FabricSessionState.Open, $"A: {pair.A.CloseError}; B: {pair.B.CloseError}");
        Assert.Equal(FabricSessionState.Open, pair.B.State);
        var (a, b) = await pair.A.OpenPairAsync(pair.B);
        await a.WriteAsync("alive"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        Assert.Equal("alive"u8.ToArray(), await b.ReadBytesAsync(5));
    }

    [Fact]
    public async Task SmoothedRtt_AfterFirstPing_Positive()
    {
        await using var pair = await SessionPair.StartAsync();
        await Eventually.TrueAsync(() => pair.A.SmoothedRtt > TimeSpan.Zero && pair.B.SmoothedRtt > TimeSpan.Zero, "RTT sampled by the first PING");
        Assert.True(pair.A.MinRtt > TimeSpan.Zero);
        Assert.True(pair.A.MinRtt <= pair.A.SmoothedRtt || pair.A.SmoothedRtt > TimeSpan.Zero);
    }

    [Fact]
    public async Task Ping_EveryPingInterval_OneOutstandingAtATime()
    {
        var options = new FabricSessionOptions { PingInterval = TimeSpan.FromMilliseconds(50) };
        await using RawPeer peer = RawPeer.Start(options);
        peer.AnswerPings = false;
        await peer.HandshakeAsync();
        await peer.ExpectFrameAsync(FrameType.Ping);
        await peer.ExpectNoFrameAsync(TimeSpan.FromMilliseconds(300), f => f.Type != FrameType.Ping); // unanswered: no second PING
        Assert.Single(peer.Received, f => f.Type == FrameType.Ping);

        peer.AnswerPings = true;
        await peer.SendPongAsync(peer.Received.Single(f => f.Type == FrameType.Ping).Opaque);
        await peer.ExpectFrameAsync(FrameType.Ping);
        await peer.ExpectFrameAsync(FrameType.Ping);
    }
}
