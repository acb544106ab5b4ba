using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>The session announces its own settings in HELLO and obeys the peer's: frame size, stream and session credit.</summary>
public class PeerSettingsTests
{
    [Fact]
    public async Task Hello_Sent_CarriesTheSessionOptions()
    {
        var options = new FabricSessionOptions { MaxFramePayload = 8192, MaxConcurrentStreams = 33, InitialStreamWindow = 65536, SessionWindow = 1 << 20 };
        await using RawPeer peer = RawPeer.Start(options);
        HelloFrame hello = await peer.HandshakeAsync();
        Assert.Equal(HelloFrame.CurrentVersion, hello.Version);
        Assert.Equal(new SessionSettings(8192, 33, 65536, 1 << 20), hello.Settings);
        Assert.Equal(FrameType.Hello, peer.Received[0].Type); // first frame
    }

    [Fact]
    public async Task Data_PeerMaxFramePayloadSmaller_FramesNeverExceedIt()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync(RawPeer.DefaultSettings with { MaxFramePayload = 1024 });
        FabricStream stream = await peer.Session.OpenStreamAsync(0x0100, "t").WaitAsync(TestTimeouts.Short);
        await stream.WriteAsync(new byte[10_000]).WaitAsync(TestTimeouts.Short);
        int total = 0;
        while (total < 10_000)
        {
            RawFrame data = await peer.ExpectFrameAsync(FrameType.Data, stream.Id);
            Assert.InRange(data.Payload.Length, 1, 1024);
            total += data.Payload.Length;
        }
    }

    [Fact]
    public async Task Data_PeerInitialStreamWindow_SendsNoMoreUntilCredit()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync(RawPeer.DefaultSettings with { InitialStreamWindow = 4096 });
        FabricStream stream = await peer.Session.OpenStreamAsync(0x0100, "t").WaitAsync(TestTimeouts.Short);
        await stream.WriteAsync(new byte[10_000]).WaitAsync(TestTimeouts.Short);

        Assert.Equal(4096, await ReadDataAsync(peer, stream.Id, 4096));
        await peer.ExpectNoFrameAsync(TimeSpan.FromMilliseconds(100));
        await peer.SendCreditAsync(stream.Id, 10_000);
        Assert.Equal(10_000 - 4096, await ReadDataAsync(peer, stream.Id, 10_000 - 4096));
    }

    [Fact]
    public async Task Data_PeerOpenInitialCredit_AcceptedStreamSendsNoMoreUntilCredit()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync();
        uint id = peer.NextStreamId();
        await peer.SendOpenAsync(id, initialCredit: 1000);
        FabricStream? accepted = await peer.Session.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(accepted);
        await accepted.WriteAsync(new byte[5000]).WaitAsync(TestTimeouts.Short);
        accepted.CompleteWrites();

        Assert.Equal(1000, await ReadDataAsync(peer, id, 1000));
        await peer.ExpectNoFrameAsync(TimeSpan.FromMilliseconds(100));
        await peer.SendCreditAsync(id, 4000);
        Assert.Equal(4000, await ReadDataAsync(peer, id, 4000));
        await peer.ExpectFrameAsync(FrameType.CloseStream, id); // CLOSE follows the last byte
    }

    [Fact]
    public async Task Data_PeerSessionWindow_SharedByAllStreamsUntilCredit()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync(RawPeer.DefaultSettings with { SessionWindow = 6000 });
        FabricStream s1 = await peer.Session.OpenStreamAsync(0x0100, "1").WaitAsync(TestTimeouts.Short);
        FabricStream s2 = await peer.Session.OpenStreamAsync(0x0100, "2").WaitAsync(TestTimeouts.Short);
        await s1.WriteAsync(new byte[5000]).WaitAsync(TestTimeouts.Short);
        await s2.WriteAsync(new byte[5000]).WaitAsync(TestTimeouts.Short);

        int first = 0;
        while (first < 6000)
        {
            first += (await peer.ExpectFrameAsync(FrameType.Data)).Payload.Length;
        }

        Assert.Equal(6000, first);
        await peer.ExpectNoFrameAsync(TimeSpan.FromMilliseconds(100));
        await peer.SendCreditAsync(0, 4000);
        int rest = 0;
        while (rest < 4000)
        {
            rest += (await peer.ExpectFrameAsync(FrameType.Data)).Payload.Length;
        }

        Assert.Equal(4000, rest);
    }

    [Fact]
    public async Task OpenStream_PeerMaxConcurrentStreams_OpensWaitForSlotOnTheWire()
    {
        await using RawPeer peer = RawPeer.Start();
        await peer.HandshakeAsync(RawPeer.DefaultSettings with { MaxConcurrentStreams = 1 });
        FabricStream first = await peer.Session.OpenStreamAsync(0x0100, "1").WaitAsync(TestTimeouts.Short);
        await peer.ExpectFrameAsync(FrameType.OpenStream, first.Id);
        Task<FabricStream> second = peer.Session.OpenStreamAsync(0x0100, "2").AsTask();
        await peer.ExpectNoFrameAsync(TimeSpan.FromMilliseconds(100));
        Assert.False(second.IsCompleted);

        // The peer resets the first stream; the session acknowledges, the stream leaves the table, the slot frees.
        await peer.SendResetAsync(first.Id, FabricErrorCode.Cancel);
        await peer.ExpectFrameAsync(FrameType.ResetStream, first.Id);
        FabricStream opened = await second.WaitAsync(TestTimeouts.Short);
        RawFrame open = await peer.ExpectFrameAsync(FrameType.OpenStream, opened.Id);
        Assert.Equal(first.Id + 2, open.StreamId);
        Assert.Equal("2", open.Open.Target);
    }

    private static async Task<int> ReadDataAsync(RawPeer peer, uint id, int expected)
    {
        int total = 0;
        while (total < expected)
        {
            total += (await peer.ExpectFrameAsync(FrameType.Data, id)).Payload.Length;
        }

        return total;
    }
}
