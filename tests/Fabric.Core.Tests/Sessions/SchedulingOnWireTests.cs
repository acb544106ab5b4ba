using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>
/// The writer's scheduling decisions as seen on the wire. The raw peer announces a session window of 0, so the
/// session can only buffer; every stream's data is queued before the raw peer grants session credit, and the
/// order of DATA frames is then the scheduler's alone.
/// </summary>
public class SchedulingOnWireTests
{
    private const int Payload = 16 * 1024;

    [Fact]
    public async Task Data_AllClassesReady_StrictPriorityBetweenClasses()
    {
        await using RawPeer peer = await StartAsync();
        var sizes = new Dictionary<TrafficClass, int>
        {
            [TrafficClass.Droppable] = 48 * 1024,
            [TrafficClass.Bulk] = 128 * 1024,
            [TrafficClass.Reliable] = 64 * 1024,
            [TrafficClass.Interactive] = 32 * 1024,
            [TrafficClass.Control] = 16 * 1024,
        };
        var classOf = new Dictionary<uint, TrafficClass>();
        foreach (var (trafficClass, size) in sizes)
        {
            FabricStream s = await OpenAndFillAsync(peer, trafficClass, size);
            classOf[s.Id] = trafficClass;
        }

        List<RawFrame> data = await GrantAndReadDataAsync(peer, sizes.Values.Sum());
        TrafficClass[] order = [.. data.Select(f => classOf[f.StreamId])];
        Assert.Equal(order.Order(), order); // every frame of a higher class before any of a lower one
        Assert.All(data, f => Assert.InRange(f.Payload.Length, 1, Payload));
    }

    [Fact]
    public async Task Data_StreamsOfOneClass_EqualByteSharesByDeficitRoundRobin()
    {
        await using RawPeer peer = await StartAsync();
        const int PerStream = 256 * 1024;
        var streams = new List<FabricStream>();
        for (int i = 0; i < 3; i++)
        {
            streams.Add(await OpenAndFillAsync(peer, TrafficClass.Reliable, PerStream));
        }

        List<RawFrame> data = await GrantAndReadDataAsync(peer, 3 * PerStream);
        var bytes = streams.ToDictionary(s => s.Id, _ => 0L);
        foreach (RawFrame frame in data)
        {
            bytes[frame.StreamId] += frame.Payload.Length;
            long spread = bytes.Values.Max() - bytes.Values.Min();
            Assert.True(spread <= Payload, $"after {frame}: shares {string.Join("/", bytes.Values)} differ by more than one quantum");
        }
    }

    [Fact]
    public async Task Data_ManyStreamsInClass_NewlyReadyStreamServedWithinOneRound()
    {
        await using RawPeer peer = await StartAsync();
        const int Busy = 16;
        for (int i = 0; i < Busy; i++)
        {
            await OpenAndFillAsync(peer, TrafficClass.Bulk, 8 * Payload);
        }

        FabricStream late = await peer.Session.OpenStreamAsync(0x0100, "late", TrafficClass.Bulk).WaitAsync(TestTimeouts.Short);
        await peer.ExpectFrameAsync(FrameType.OpenStream, late.Id);

        // Let the busy streams go round a few times, one frame of credit at a time.
        for (int i = 0; i < 3 * Busy; i++)
        {
            await GrantAndReadDataAsync(peer, Payload);
        }

        await late.WriteAsync(new byte[100]).WaitAsync(TestTimeouts.Short);
        await Task.Delay(20).WaitAsync(TestTimeouts.Short);
        int frames = 0;
        while (true)
        {
            RawFrame frame = Assert.Single(await GrantAndReadDataAsync(peer, Payload, exact: false));
            frames++;
            if (frame.StreamId == late.Id)
            {
                Assert.Equal(100, frame.Payload.Length);
                break;
            }

            Assert.True(frames <= Busy, $"the late stream waited {frames} frames among {Busy} busy streams of its class");
        }
    }

    [Fact]
    public async Task Data_SessionCreditInSmallSteps_QuantumCarriesOverWithinATurn()
    {
        await using RawPeer peer = await StartAsync();
        FabricStream a = await OpenAndFillAsync(peer, TrafficClass.Reliable, 4 * Payload);
        FabricStream b = await OpenAndFillAsync(peer, TrafficClass.Reliable, 4 * Payload);

        // Credit that cuts a frame in pieces: the stream keeps its turn until it used its quantum, so shares stay equal.
        var bytes = new Dictionary<uint, long> { [a.Id] = 0, [b.Id] = 0 };
        long total = 0;
        while (total < 8 * Payload)
        {
            foreach (RawFrame frame in await GrantAndReadDataAsync(peer, 5000, exact: false))
            {
                bytes[frame.StreamId] += frame.Payload.Length;
                total += frame.Payload.Length;
            }

            Assert.True(Math.Abs(bytes[a.Id] - bytes[b.Id]) <= Payload, $"shares {bytes[a.Id]}/{bytes[b.Id]}");
        }

        Assert.Equal(bytes[a.Id], bytes[b.Id]);
    }

    private static async Task<RawPeer> StartAsync()
    {
        var options = new FabricSessionOptions { StreamSendBufferSize = 1024 * 1024, FlushThreshold = 64 * 1024 };
        RawPeer peer = RawPeer.Start(options, SessionRole.Initiator);
        await peer.HandshakeAsync(new SessionSettings(Payload, 1000, 16 * 1024 * 1024, 0));
        return peer;
    }

    private static async Task<FabricStream> OpenAndFillAsync(RawPeer peer, TrafficClass trafficClass, int bytes)
    {
        FabricStream stream = await peer.Session.OpenStreamAsync(0x0100, trafficClass.ToString(), trafficClass).WaitAsync(TestTimeouts.Short);
        await peer.ExpectFrameAsync(FrameType.OpenStream, stream.Id);
        ValueTask write = stream.WriteAsync(new byte[bytes]);
        Assert.True(write.IsCompleted, "the write fits the send buffer");
        await write.WaitAsync(TestTimeouts.Short);
        return stream;
    }

    /// <summary>Grants <paramref name="credit"/> bytes of session credit and reads the DATA it lets through.</summary>
    private static async Task<List<RawFrame>> GrantAndReadDataAsync(RawPeer peer, int credit, bool exact = true)
    {
        await peer.SendCreditAsync(0, (uint)credit);
        var data = new List<RawFrame>();
        long received = 0;
        while (received < credit)
        {
            RawFrame frame = await peer.ExpectFrameAsync(FrameType.Data);
            data.Add(frame);
            received += frame.Payload.Length;
            if (!exact)
            {
                break;
            }
        }

        return data;
    }
}
