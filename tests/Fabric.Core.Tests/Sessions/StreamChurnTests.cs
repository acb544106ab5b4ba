using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>
/// Many streams at once, each ending a random way on each side (half-close, dispose part-way, abort), with small
/// windows so flow control, discards and RESET/CLOSE races all happen. Whatever the mix, the sessions must stay
/// open without a protocol error, every stream must leave both tables, and streams that ended gracefully on both
/// sides must deliver their bytes exactly.
/// </summary>
public class StreamChurnTests
{
    public StreamChurnTests() => UnobservedExceptions.Watch();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task ManyStreams_RandomEndings_TablesDrainAndSessionsStayHealthy(int seed)
    {
        var options = new FabricSessionOptions
        {
            InitialStreamWindow = 32 * 1024,
            MaxStreamWindow = 128 * 1024,
            SessionWindow = 512 * 1024,
            StreamSendBufferSize = 16 * 1024,
        };
        await using var pair = await SessionPair.StartAsync(options, options);
        var random = new Random(seed);
        var plans = Enumerable.Range(0, 24).Select(_ => new StreamChurnPlan(
            random.Next(0, 200_000),
            random.Next(0, 200_000),
            Pick(random),
            Pick(random),
            (TrafficClass)random.Next(0, 4),
            random.Next())).ToList();

        var streams = new List<(FabricStream A, FabricStream B)>();
        foreach (StreamChurnPlan plan in plans)
        {
            streams.Add(await pair.A.OpenPairAsync(pair.B, plan.Class));
        }

        await Task.WhenAll(plans.Select((p, i) => RunAsync(streams[i].A, streams[i].B, p))).WaitAsync(TestTimeouts.Long);

        await Eventually.TrueAsync(
            () => pair.A.ActiveStreamCount == 0 && pair.B.ActiveStreamCount == 0,
            "every stream left both tables",
            TestTimeouts.Long);
        Assert.Equal(FabricSessionState.Open, pair.A.State);
        Assert.Equal(FabricSessionState.Open, pair.B.State);
        Assert.Equal(0, pair.A.Statistics.ProtocolErrors);
        Assert.Equal(0, pair.B.Statistics.ProtocolErrors);

        // Both sessions still carry traffic.
        var (x, y) = await pair.A.OpenPairAsync(pair.B);
        Task<byte[]> last = y.ReadToEndAsync();
        await x.WriteAsync(new byte[100_000]).WaitAsync(TestTimeouts.Short);
        x.CompleteWrites();
        Assert.Equal(100_000, (await last.WaitAsync(TestTimeouts.Short)).Length);
        UnobservedExceptions.AssertNoneFromFabricCore();
    }

    private static StreamEnding Pick(Random random) => random.Next(0, 6) switch
    {
        < 4 => StreamEnding.Graceful,
        4 => StreamEnding.DisposeEarly,
        _ => StreamEnding.Abort,
    };

    private static async Task RunAsync(FabricStream a, FabricStream b, StreamChurnPlan plan)
    {
        byte[] forward = new byte[plan.ForwardBytes];
        byte[] backward = new byte[plan.BackwardBytes];
        new Random(plan.Seed).NextBytes(forward);
        new Random(plan.Seed + 1).NextBytes(backward);

        Task<byte[]?> aReceives = ReceiveAsync(a, plan.OpenerEnding, plan.Seed);
        Task<byte[]?> bReceives = ReceiveAsync(b, plan.AcceptorEnding, plan.Seed + 2);
        await Task.WhenAll(
            SendAsync(a, forward, plan.OpenerEnding, plan.Seed + 3),
            SendAsync(b, backward, plan.AcceptorEnding, plan.Seed + 4),
            aReceives,
            bReceives).WaitAsync(TestTimeouts.Long);

        if (plan.OpenerEnding == StreamEnding.Graceful && plan.AcceptorEnding == StreamEnding.Graceful)
        {
            Assert.Equal(forward, await bReceives.WaitAsync(TestTimeouts.Short));
            Assert.Equal(backward, await aReceives.WaitAsync(TestTimeouts.Short));
        }

        await a.DisposeAsync().WaitAsync(TestTimeouts.Short);
        await b.DisposeAsync().WaitAsync(TestTimeouts.Short);
    }

    private static async Task SendAsync(FabricStream stream, byte[] data, StreamEnding ending, int seed)
    {
        var random = new Random(seed);
        int stopAt = ending == StreamEnding.Graceful ? data.Length : random.Next(0, data.Length + 1);
        try
        {
            for (int offset = 0; offset < stopAt;)
            {
                int n = Math.Min(random.Next(1, 40_000), stopAt - offset);
                await stream.WriteAsync(data.AsMemory(offset, n)).WaitAsync(TestTimeouts.Long);
                offset += n;
            }

            switch (ending)
            {
                case StreamEnding.Graceful:
                    stream.CompleteWrites();
                    break;
                case StreamEnding.DisposeEarly:
                    await stream.DisposeAsync().WaitAsync(TestTimeouts.Short);
                    break;
                case StreamEnding.Abort:
                    stream.Abort(FabricErrorCode.Cancel);
                    break;
            }
        }
        catch (Exception ex) when (ex is FabricStreamException or ObjectDisposedException or InvalidOperationException)
        {
            // the other side (or this side's reader) ended the stream first
        }
    }

    private static async Task<byte[]?> ReceiveAsync(FabricStream stream, StreamEnding ending, int seed)
    {
        var random = new Random(seed);
        var received = new MemoryStream();
        byte[] buffer = new byte[random.Next(1, 64 * 1024)];
        int stopAfter = ending == StreamEnding.Graceful ? int.MaxValue : random.Next(0, 150_000);
        try
        {
            while (received.Length < stopAfter)
            {
                int n = await stream.ReadAsync(buffer).WaitAsync(TestTimeouts.Long);
                if (n == 0)
                {
                    return received.ToArray();
                }

                received.Write(buffer, 0, n);
                if (random.Next(0, 8) == 0)
                {
                    await Task.Delay(1).WaitAsync(TestTimeouts.Short); // a reader that is sometimes slow
                }
            }

            if (ending == StreamEnding.Abort)
            {
                stream.Abort(FabricErrorCode.Cancel);
            }
            else
            {
                await stream.DisposeAsync().WaitAsync(TestTimeouts.Short);
            }

            return null;
        }
        catch (Exception ex) when (ex is FabricStreamException or ObjectDisposedException)
        {
            return null;
        }
    }
}
