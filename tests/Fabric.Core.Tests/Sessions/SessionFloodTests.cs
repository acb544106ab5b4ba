using System.Diagnostics;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Per-second caps on cheap frames (GOAWAY ENHANCE_YOUR_CALM) and the bound on queued control frames.</summary>
public class SessionFloodTests
{
    public SessionFloodTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task Ping_Flood_GoAwayEnhanceYourCalm()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();

        // Three times the cap in one burst: whatever one-second window it straddles, one window exceeds the cap.
        await peer.SendAsync(RawPeer.Concat(Enumerable.Range(1, 303).Select(i => RawPeer.PingBytes(FrameType.Ping, (ulong)i))));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.EnhanceYourCalm);
        Assert.Equal(1, peer.Session.Statistics.FloodsDetected);
    }

    [Fact]
    public async Task Ping_AtCapEverySecond_NotAFlood()
    {
        var clock = new ManualTimeProvider();
        var options = new FabricSessionOptions { TimeProvider = clock, Flood = new FloodLimits { MaxPingsPerSecond = 20 } };
        await using RawPeer peer = RawPeer.Start(options);
        peer.AnswerPings = false;
        await peer.HandshakeAsync();
        await peer.ExpectFrameAsync(FrameType.Ping); // the session's RTT probe: leave it unanswered
        for (int second = 0; second < 3; second++)
        {
            await peer.SendAsync(RawPeer.Concat(Enumerable.Range(1, 20).Select(i => RawPeer.PingBytes(FrameType.Ping, (ulong)i))));
            for (int i = 0; i < 20; i++)
            {
                await peer.ExpectFrameAsync(FrameType.Pong);
            }

            clock.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(FabricSessionState.Open, peer.Session.State);

        // One more than the cap within one second (the clock does not move) is a flood.
        await peer.SendAsync(RawPeer.Concat(Enumerable.Range(1, 21).Select(i => RawPeer.PingBytes(FrameType.Ping, (ulong)i))));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.EnhanceYourCalm);
    }

    [Fact]
    public async Task Reset_RapidOpenResetFlood_GoAwayEnhanceYourCalm()
    {
        var options = new FabricSessionOptions { Flood = new FloodLimits { MaxResetsPerSecond = 50 } };
        await using RawPeer peer = RawPeer.Start(options);
        await peer.HandshakeAsync();
        var frames = new List<byte[]>();
        for (int i = 0; i < 153; i++)
        {
            uint id = peer.NextStreamId();
            frames.Add(RawPeer.OpenBytes(id));
            frames.Add(RawPeer.ResetBytes(id, FabricErrorCode.Cancel));
        }

        await peer.SendAsync(RawPeer.Concat(frames));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.EnhanceYourCalm);
        Assert.Equal(1, peer.Session.Statistics.FloodsDetected);
    }

    [Fact]
    public async Task Reset_OnClosedStreamsFlood_BoundedByControlFrameCap()
    {
        // A RESET for a stream that is already gone costs one lookup: it is not a rapid reset, but like every
        // control frame it is bounded by the per-second control-frame cap.
        var options = new FabricSessionOptions { Flood = new FloodLimits { MaxResetsPerSecond = 50, MaxControlFramesPerSecond = 100 } };
        await using RawPeer peer = RawPeer.Start(options);
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendResetAsync(id, FabricErrorCode.Cancel);
        await peer.ExpectFrameAsync(FrameType.ResetStream, id);

        await peer.SendAsync(RawPeer.Concat(Enumerable.Range(0, 153).Select(_ => RawPeer.ResetBytes(id, FabricErrorCode.Cancel))));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.EnhanceYourCalm);
    }

    [Fact]
    public async Task Reset_AfterPeerCloseAtHighRate_NotARapidReset()
    {
        // open, data, CLOSE, then RESET (what disposing a stream early does): the RESET only stops our sending.
        var options = new FabricSessionOptions { Flood = new FloodLimits { MaxResetsPerSecond = 50 } };
        await using RawPeer peer = RawPeer.Start(options);
        await peer.HandshakeAsync();
        var frames = new List<byte[]>();
        for (int i = 0; i < 200; i++)
        {
            uint id = peer.NextStreamId();
            frames.Add(RawPeer.OpenBytes(id));
            frames.Add(RawPeer.DataBytes(id, "x"u8));
            frames.Add(RawPeer.CloseBytes(id));
            frames.Add(RawPeer.ResetBytes(id, FabricErrorCode.Cancel));
        }

        await peer.SendAsync(RawPeer.Concat(frames));
        await peer.AssertAliveAsync();
    }

    [Fact]
    public async Task EmptyData_Flood_GoAwayEnhanceYourCalm()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        await peer.SendAsync(RawPeer.Concat(Enumerable.Range(0, 303).Select(_ => RawPeer.DataBytes(id, []))));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.EnhanceYourCalm);
    }

    [Fact]
    public async Task RefusedOpen_Flood_GoAwayEnhanceYourCalm()
    {
        var options = new FabricSessionOptions { MaxConcurrentStreams = 1, Flood = new FloodLimits { MaxRefusedOpensPerSecond = 20 } };
        await using RawPeer peer = RawPeer.Start(options);
        await peer.HandshakeAsync();
        await peer.SendAsync(RawPeer.Concat(Enumerable.Range(0, 64).Select(_ => RawPeer.OpenBytes(peer.NextStreamId()))));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.EnhanceYourCalm);
        Assert.Equal(1, peer.Session.Statistics.StreamsOpenedByPeer);
        Assert.Equal(21, peer.Session.Statistics.StreamsRefused); // the 21st refusal in one second trips the cap
    }

    [Fact]
    public async Task ControlFrame_Flood_GoAwayEnhanceYourCalm()
    {
        var options = new FabricSessionOptions { Flood = new FloodLimits { MaxControlFramesPerSecond = 200 } };
        await using RawPeer peer = RawPeer.Start(options);
        await peer.HandshakeAsync();
        await peer.SendAsync(RawPeer.Concat(Enumerable.Range(0, 700).Select(_ => RawPeer.CreditBytes(0, 1))));
        await SessionErrorAssert.ClosedWithAsync(peer, FabricErrorCode.EnhanceYourCalm);
    }

    [Fact]
    public async Task Ping_FloodWhilePeerNeverReads_SessionClosesWithBoundedBuffers()
    {
        // No per-second cap trips here: only the bound on queued control frames (PONGs nobody reads) can stop it.
        var options = new FabricSessionOptions
        {
            MaxPendingControlFrames = 64,
            Flood = new FloodLimits { MaxPingsPerSecond = int.MaxValue, MaxControlFramesPerSecond = int.MaxValue },
        };
        await using RawPeer peer = RawPeer.Start(options);
        await peer.HandshakeAsync();

        byte[] burst = RawPeer.Concat(Enumerable.Range(0, 4096).Select(i => RawPeer.PingBytes(FrameType.Ping, (ulong)i)));
        var watch = Stopwatch.StartNew();
        long sent = 0;
        Task<bool> send = Task.FromResult(true);
        while (!peer.Session.Completion.IsCompleted && watch.Elapsed < TestTimeouts.Long)
        {
            send = peer.SendAsync(burst, TestTimeouts.Long);
            if (await Task.WhenAny(send, peer.Session.Completion).WaitAsync(TestTimeouts.Long) == send && !await send)
            {
                break; // the session stopped reading
            }

            sent += burst.Length;
        }

        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        await send.WaitAsync(TestTimeouts.Short); // a send blocked on the full link ends when the session releases it
        Assert.Equal(FabricErrorCode.EnhanceYourCalm, peer.Session.CloseError?.Code);

        // What the session wrote and the raw peer never read is bounded by the link's pause threshold (1 MiB)
        // plus one flush batch, however many PINGs were sent.
        long unread = peer.UnreadBytes();
        Assert.InRange(unread, 0, (1024 * 1024) + options.FlushThreshold + (64 * FrameWriter.PingFrameSize));
        Assert.True(sent > unread, $"sent {sent} bytes of PING, {unread} bytes unread");
        UnobservedExceptions.AssertNoneFromFabricCore();
    }
}
