using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>MaxConcurrentStreams and the accept backlog: refusals on the wire, waiting opens, retryable errors.</summary>
public class ConcurrencyLimitTests
{
    public ConcurrencyLimitTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task OpenStream_PeerBeyondMaxConcurrentStreams_RefusedStreamAndSessionStaysOpen()
    {
        await using RawPeer peer = RawPeer.Start(new FabricSessionOptions { MaxConcurrentStreams = 2 });
        await peer.HandshakeAsync();
        uint first = peer.NextStreamId(), second = peer.NextStreamId(), third = peer.NextStreamId();
        await peer.SendOpenAsync(first);
        await peer.SendOpenAsync(second);
        await peer.SendOpenAsync(third);
        await peer.SendDataAsync(third, 100); // sent before the refusal arrived: dropped, not an error

        RawFrame reset = await peer.ExpectFrameAsync(FrameType.ResetStream);
        Assert.Equal(third, reset.StreamId);
        Assert.Equal(FabricErrorCode.RefusedStream, reset.ResetCode);
        Assert.Equal(1, peer.Session.Statistics.StreamsRefused);
        Assert.Equal(2, peer.Session.Statistics.StreamsOpenedByPeer);

        await peer.SendResetAsync(third, FabricErrorCode.RefusedStream); // acknowledge
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 2, "refused stream left the table");

        // A slot frees when a stream is done both ways; the next open is accepted.
        FabricStream? s1 = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(s1);
        Assert.Equal(first, s1.Id);
        await peer.SendCloseAsync(first);
        s1.CompleteWrites();
        await peer.ExpectFrameAsync(FrameType.CloseStream, first);
        await Eventually.TrueAsync(() => peer.Session.ActiveStreamCount == 1, "closed stream left the table");
        uint fourth = peer.NextStreamId();
        await peer.SendOpenAsync(fourth);
        await peer.AssertAliveAsync();
        Assert.DoesNotContain(peer.Received, f => f.Type == FrameType.ResetStream && f.StreamId == fourth);
        Assert.Equal(3, peer.Session.Statistics.StreamsOpenedByPeer);
    }

    [Fact]
    public async Task OpenStreamAsync_PeerLimitReached_WaitsForASlot()
    {
        await using var pair = await SessionPair.StartAsync(b: new FabricSessionOptions { MaxConcurrentStreams = 2 });
        var (a1, b1) = await pair.A.OpenPairAsync(pair.B);
        var (a2, _) = await pair.A.OpenPairAsync(pair.B);

        Task<FabricStream> third = pair.A.OpenStreamAsync(0x0100, "third").AsTask();
        await Task.Delay(100).WaitAsync(TestTimeouts.Short);
        Assert.False(third.IsCompleted, "the third open must wait: the peer allows two");

        // Half-closing one way frees nothing; the slot frees when the stream is done in both directions.
        a1.CompleteWrites();
        Assert.Equal(0, await b1.ReadAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
        await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        Assert.False(third.IsCompleted);
        b1.CompleteWrites();

        FabricStream a3 = await third.WaitAsync(TestTimeouts.Short);
        FabricStream? b3 = await pair.B.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(b3);
        Assert.Equal(a3.Id, b3.Id);
        await a3.WriteAsync("ok"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        Assert.Equal("ok"u8.ToArray(), await b3.ReadBytesAsync(2));
        Assert.Equal(0, pair.B.Statistics.StreamsRefused);
        GC.KeepAlive(a2);
    }

    [Fact]
    public async Task OpenStreamAsync_WaitingForSlot_CanceledByToken()
    {
        await using var pair = await SessionPair.StartAsync(b: new FabricSessionOptions { MaxConcurrentStreams = 1 });
        _ = await pair.A.OpenPairAsync(pair.B);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pair.A.OpenStreamAsync(0x0100, "x", cancellationToken: cts.Token).WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task OpenStreamAsync_WaitingForSlot_FailsWhenSessionDrains()
    {
        await using var pair = await SessionPair.StartAsync(b: new FabricSessionOptions { MaxConcurrentStreams = 1 });
        _ = await pair.A.OpenPairAsync(pair.B);
        Task<FabricStream> waiting = pair.A.OpenStreamAsync(0x0100, "x").AsTask();
        await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        _ = pair.B.GoAwayAsync();
        await Assert.ThrowsAsync<FabricSessionException>(() => waiting.WaitAsync(TestTimeouts.Short));
    }

    [Fact]
    public async Task OpenStream_AcceptBacklogFull_RefusedRetryable()
    {
        await using var pair = await SessionPair.StartAsync(b: new FabricSessionOptions { AcceptBacklog = 2 });
        FabricStream s1 = await pair.A.OpenStreamAsync(0x0100, "1").WaitAsync(TestTimeouts.Short);
        FabricStream s2 = await pair.A.OpenStreamAsync(0x0100, "2").WaitAsync(TestTimeouts.Short);
        FabricStream s3 = await pair.A.OpenStreamAsync(0x0100, "3").WaitAsync(TestTimeouts.Short);

        FabricStreamException error = await Assert.ThrowsAsync<FabricStreamException>(() => s3.ReadAsync(new byte[1]).WaitAsync(TestTimeouts.Short));
        Assert.Equal(FabricErrorCode.RefusedStream, error.Code);
        Assert.True(error.IsRetryable);
        Assert.True(error.IsRemote);
        Assert.Equal(1, pair.B.Statistics.StreamsRefused);

        FabricStream? b1 = await pair.B.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        FabricStream? b2 = await pair.B.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.Equal(s1.Id, b1?.Id);
        Assert.Equal(s2.Id, b2?.Id);
        await Eventually.TrueAsync(() => pair.A.ActiveStreamCount == 2 && pair.B.ActiveStreamCount == 2, "refused stream left both tables");

        // With the backlog drained the retry succeeds.
        var (a4, b4) = await pair.A.OpenPairAsync(pair.B);
        await a4.WriteAsync("retry"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        Assert.Equal("retry"u8.ToArray(), await b4.ReadBytesAsync(5));
    }
}
