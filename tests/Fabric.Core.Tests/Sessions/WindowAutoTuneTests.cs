using System.Diagnostics;
using Fabric.Core.Sessions;
using Xunit.Abstractions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Receive windows double while they are the bottleneck, over a link with a real round-trip time.</summary>
[Collection(TimingCollection.Name)]
public class WindowAutoTuneTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ReceiveWindow_DelayedLink_GrowsAndThroughputBeatsInitialWindowPerRtt()
    {
        const int InitialWindow = 256 * 1024;
        const int Total = 16 * 1024 * 1024;
        var options = new FabricSessionOptions { InitialStreamWindow = InitialWindow, PingInterval = TimeSpan.FromMilliseconds(200) };
        var (linkA, linkB) = DelayedLink.CreatePair(TimeSpan.FromMilliseconds(20));
        await using var pair = await SessionPair.StartAsync(linkA, linkB, options, options);
        FabricSession a = pair.A, b = pair.B;
        await Eventually.TrueAsync(() => b.SmoothedRtt > TimeSpan.Zero, "first RTT sample");
        TimeSpan rtt = b.MinRtt;
        Assert.True(rtt >= TimeSpan.FromMilliseconds(38), $"the link delays 20 ms each way, RTT {rtt.TotalMilliseconds} ms");

        var (sender, receiver) = await a.OpenPairAsync(b, TrafficClass.Bulk);
        byte[] chunk = new byte[64 * 1024];
        var watch = Stopwatch.StartNew();
        Task write = Task.Run(async () =>
        {
            for (int sent = 0; sent < Total; sent += chunk.Length)
            {
                await sender.WriteAsync(chunk).WaitAsync(TestTimeouts.Long);
            }

            sender.CompleteWrites();
        });
        byte[] buffer = new byte[256 * 1024];
        long received = 0;
        int n;
        while ((n = await receiver.ReadAsync(buffer).WaitAsync(TestTimeouts.Long)) > 0)
        {
            received += n;
        }

        watch.Stop();
        await write.WaitAsync(TestTimeouts.Short);
        Assert.Equal(Total, received);

        double throughput = Total / watch.Elapsed.TotalSeconds;
        double fixedWindowLimit = InitialWindow / rtt.TotalSeconds;
        output.WriteLine($"{throughput / 1e6:F1} MB/s in {watch.ElapsedMilliseconds} ms, RTT {rtt.TotalMilliseconds:F1} ms, fixed-window limit {fixedWindowLimit / 1e6:F1} MB/s, window {receiver.ReceiveWindow / 1024} KiB, {b.Statistics.WindowGrowths} growths");
        Assert.True(receiver.ReceiveWindow > InitialWindow, $"window stayed at {receiver.ReceiveWindow}");
        Assert.True(b.Statistics.WindowGrowths > 0);
        Assert.True(
            throughput > 2 * fixedWindowLimit,
            $"{throughput / 1e6:F1} MB/s in {watch.ElapsedMilliseconds} ms; a fixed {InitialWindow / 1024} KiB window over {rtt.TotalMilliseconds:F0} ms allows {fixedWindowLimit / 1e6:F1} MB/s (window now {receiver.ReceiveWindow / 1024} KiB)");
    }

    [Fact]
    public async Task ReceiveWindow_GrowthOfAllStreams_CappedAtHalfTheSessionWindow()
    {
        const int SessionWindow = 2 * 1024 * 1024;
        var options = new FabricSessionOptions
        {
            InitialStreamWindow = 256 * 1024,
            MaxStreamWindow = 16 * 1024 * 1024,
            SessionWindow = SessionWindow,
            PingInterval = TimeSpan.FromMilliseconds(200),
        };
        var (linkA, linkB) = DelayedLink.CreatePair(TimeSpan.FromMilliseconds(10));
        await using var pair = await SessionPair.StartAsync(linkA, linkB, options, options);
        FabricSession a = pair.A, b = pair.B;
        await Eventually.TrueAsync(() => b.SmoothedRtt > TimeSpan.Zero, "first RTT sample");

        var receivers = new List<FabricStream>();
        var transfers = new List<Task>();
        for (int i = 0; i < 3; i++)
        {
            var (sender, receiver) = await a.OpenPairAsync(b, TrafficClass.Bulk);
            receivers.Add(receiver);
            transfers.Add(Task.Run(async () =>
            {
                byte[] chunk = new byte[64 * 1024];
                for (int sent = 0; sent < 8 * 1024 * 1024; sent += chunk.Length)
                {
                    await sender.WriteAsync(chunk).WaitAsync(TestTimeouts.Long);
                }

                sender.CompleteWrites();
            }));
            transfers.Add(Task.Run(() => receiver.ReadToEndAsync()));
        }

        await Task.WhenAll(transfers).WaitAsync(TestTimeouts.Long);
        long growth = receivers.Sum(r => (long)r.ReceiveWindow - (256 * 1024));
        Assert.True(growth > 0, "the windows grew");
        Assert.True(growth <= SessionWindow / 2, $"windows grew by {growth} bytes in all; the cap is {SessionWindow / 2}");
    }
}
