using System.Buffers.Binary;
using System.Security.Cryptography;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Credit return as the application reads, isolation of a stream that stops reading, droppable writes.</summary>
public class FlowControlTests
{
    public FlowControlTests() => UnobservedExceptions.Watch();

    [Fact]
    public async Task Credit_ReturnedWhenHalfStreamWindowAndQuarterSessionWindowRead()
    {
        await using RawPeer peer = RawPeer.Start(new FabricSessionOptions { InitialStreamWindow = 64 * 1024, SessionWindow = 256 * 1024 });
        peer.AnswerPings = false; // no RTT sample: the window cannot auto-tune, so the grants are exact
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id);
        for (int i = 0; i < 4; i++)
        {
            await peer.SendDataAsync(id, 16 * 1024);
        }

        FabricStream? stream = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(stream);
        await stream.ReadBytesAsync((32 * 1024) - 1);
        await peer.ExpectNoFrameAsync(TimeSpan.FromMilliseconds(100));

        await stream.ReadBytesAsync(1);
        RawFrame credit = await peer.ExpectFrameAsync(FrameType.StreamCredit);
        Assert.Equal(id, credit.StreamId);
        Assert.Equal(32u * 1024, credit.UInt32);
        await peer.ExpectNoFrameAsync(TimeSpan.FromMilliseconds(50));

        await stream.ReadBytesAsync(32 * 1024); // 64 KiB read in all: half the stream window again, a quarter of the session's
        var grants = new List<RawFrame> { await peer.ExpectFrameAsync(FrameType.StreamCredit), await peer.ExpectFrameAsync(FrameType.StreamCredit) };
        Assert.Contains(grants, f => f.StreamId == id && f.UInt32 == 32 * 1024);
        Assert.Contains(grants, f => f.StreamId == 0 && f.UInt32 == 64 * 1024);

        // The returned credit is usable: 32 KiB more on the stream is within its window.
        await peer.SendDataAsync(id, 16 * 1024);
        await peer.SendDataAsync(id, 16 * 1024);
        await peer.AssertAliveAsync();
        Assert.Equal(FabricSessionState.Open, peer.Session.State);
    }

    [Fact]
    public async Task SlowReader_OtherStreamsKeepFlowing_AndSlowStreamResumes()
    {
        var receiver = new FabricSessionOptions { InitialStreamWindow = 64 * 1024, MaxStreamWindow = 1024 * 1024, SessionWindow = 1024 * 1024 };
        await using var pair = await SessionPair.StartAsync(b: receiver);
        var (slowA, slowB) = await pair.A.OpenPairAsync(pair.B, target: "slow");
        byte[] slowPayload = RandomNumberGenerator.GetBytes(1024 * 1024);
        Task slowWrite = Task.Run(async () =>
        {
            await slowA.WriteAsync(slowPayload).WaitAsync(TestTimeouts.Long);
            slowA.CompleteWrites();
        });

        // Nobody reads the slow stream: its sender stops at the window.
        await Eventually.TrueAsync(() => pair.A.Statistics.DataBytesSent(TrafficClass.Reliable) >= 64 * 1024, "slow stream filled its window");
        await Task.Delay(50).WaitAsync(TestTimeouts.Short);
        Assert.False(slowWrite.IsCompleted);

        const int FastBytes = 4 * 1024 * 1024;
        async Task FastAsync(FabricStream fa, FabricStream fb)
        {
            byte[] payload = RandomNumberGenerator.GetBytes(FastBytes);
            Task<byte[]> received = fb.ReadToEndAsync();
            await fa.WriteAsync(payload).WaitAsync(TestTimeouts.Long);
            fa.CompleteWrites();
            Assert.Equal(payload, await received.WaitAsync(TestTimeouts.Long));
        }

        // Open (and accept) one pair after the other, so each acceptance matches its open; then transfer at once.
        var fast1 = await pair.A.OpenPairAsync(pair.B, target: "fast1");
        var fast2 = await pair.A.OpenPairAsync(pair.B, target: "fast2");
        await Task.WhenAll(FastAsync(fast1.Local, fast1.Remote), FastAsync(fast2.Local, fast2.Remote)).WaitAsync(TestTimeouts.Long);
        Assert.False(slowWrite.IsCompleted, "the slow stream must still be held by its window");

        // The slow reader comes back: everything arrives intact.
        Assert.Equal(slowPayload, await slowB.ReadToEndAsync());
        await slowWrite.WaitAsync(TestTimeouts.Short);
    }

    [Fact]
    public async Task SeveralSlowReaders_HoldMostOfSessionWindow_OtherStreamStillFlows()
    {
        // Four streams stop reading and hold 7/8 of the session window between them. The free eighth must still
        // circulate: what the active stream reads has to go back to the sender even though it is less than the
        // quarter-window batch in which session credit is normally returned.
        const int SessionWindow = 1024 * 1024;
        var receiver = new FabricSessionOptions { InitialStreamWindow = 256 * 1024, MaxStreamWindow = 256 * 1024, SessionWindow = SessionWindow };
        await using var pair = await SessionPair.StartAsync(b: receiver);
        var held = new List<FabricStream>();
        foreach (int bytes in new[] { 256 * 1024, 256 * 1024, 256 * 1024, 128 * 1024 })
        {
            var (a, b) = await pair.A.OpenPairAsync(pair.B, target: "stalled");
            await a.WriteAsync(new byte[bytes]).WaitAsync(TestTimeouts.Short);
            held.Add(b);
        }

        await Eventually.TrueAsync(() => pair.A.Statistics.DataBytesSent(TrafficClass.Reliable) >= 896 * 1024, "stalled streams filled");

        var (fa, fb) = await pair.A.OpenPairAsync(pair.B, target: "active");
        byte[] payload = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        Task<byte[]> received = fb.ReadToEndAsync();
        Task write = Task.Run(async () =>
        {
            await fa.WriteAsync(payload).WaitAsync(TestTimeouts.Long);
            fa.CompleteWrites();
        });
        Assert.Equal(payload, await received.WaitAsync(TestTimeouts.Short));
        await write.WaitAsync(TestTimeouts.Short);
        Assert.All(held, s => Assert.True(s.CanRead));
    }

    [Fact]
    public async Task Droppable_SendBufferFull_DropsWholeWritesWithoutWaiting()
    {
        const int MessageSize = 1000, Messages = 200;
        await using var pair = await SessionPair.StartAsync(
            a: new FabricSessionOptions { StreamSendBufferSize = 4 * 1024 },
            b: new FabricSessionOptions { InitialStreamWindow = 16 * 1024 });
        var (a, b) = await pair.A.OpenPairAsync(pair.B, TrafficClass.Droppable);

        byte[] message = new byte[MessageSize];
        for (int seq = 0; seq < Messages; seq++)
        {
            message.AsSpan().Fill((byte)seq);
            BinaryPrimitives.WriteInt32BigEndian(message, seq);
            ValueTask write = a.WriteAsync(message);
            Assert.True(write.IsCompleted, "a droppable write never waits");
            await write.WaitAsync(TestTimeouts.Short);
        }

        long dropped = a.DroppedWriteCount;
        Assert.True(dropped > 0, "the peer reads nothing: 16 KiB credit + 4 KiB buffer cannot hold 200 KB");
        Assert.Equal(dropped, pair.A.Statistics.WritesDropped);

        a.CompleteWrites();
        byte[] all = await b.ReadToEndAsync();
        Assert.Equal(0, all.Length % MessageSize); // whole messages only
        Assert.Equal(Messages - dropped, all.Length / MessageSize);
        int previous = -1;
        for (int offset = 0; offset < all.Length; offset += MessageSize)
        {
            int seq = BinaryPrimitives.ReadInt32BigEndian(all.AsSpan(offset));
            Assert.True(seq > previous, $"message {seq} after {previous}");
            Assert.True(all.AsSpan(offset + 4, MessageSize - 4).IndexOfAnyExcept((byte)seq) < 0, $"message {seq} is intact");
            previous = seq;
        }
    }

    [Fact]
    public async Task Droppable_ReaderKeepsUp_NothingDropped()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B, TrafficClass.Droppable);
        Task<byte[]> received = b.ReadToEndAsync();
        for (int i = 0; i < 100; i++)
        {
            await a.WriteAsync(new byte[1000]).WaitAsync(TestTimeouts.Short);
        }

        a.CompleteWrites();
        Assert.Equal(100_000, (await received.WaitAsync(TestTimeouts.Long)).Length);
        Assert.Equal(0, a.DroppedWriteCount);
    }
}
