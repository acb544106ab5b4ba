using Fabric.Core.Sessions;

namespace Benchmarks.Scenarios;

/// <summary>
/// Managed memory held per open, idle stream: 10,000 streams opened on one session (both ends live in this
/// process, so the figure counts both ends of each stream) after a ping round trip on each.
/// </summary>
internal static class IdleStreams
{
    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        const int count = 10_000;
        var options = new FabricSessionOptions { MaxConcurrentStreams = count + 16, AcceptBacklog = count + 16 };
        await using Loopback loop = await Loopback.StartAsync(options);

        // Warm the paths once so one-time allocations (JIT, pools) are not counted.
        await using (FabricStream warm = await loop.Client.OpenStreamAsync(1, "idle"))
        {
            await using FabricStream warmPeer = (await loop.Server.AcceptStreamAsync())!;
        }

        var clientStreams = new FabricStream[count];
        var serverStreams = new FabricStream[count];
        long before = Measure();
        for (int i = 0; i < count; i++)
        {
            clientStreams[i] = await loop.Client.OpenStreamAsync(1, "idle");
        }

        for (int i = 0; i < count; i++)
        {
            serverStreams[i] = (await loop.Server.AcceptStreamAsync())!;
        }

        // Every stream carries one byte each way, so the streams are really open and have been used, then idle.
        var one = new byte[1];
        for (int i = 0; i < count; i++)
        {
            await clientStreams[i].WriteAsync(one);
            await serverStreams[i].ReadExactlyAsync(one);
            await serverStreams[i].WriteAsync(one);
            await clientStreams[i].ReadExactlyAsync(one);
        }

        long after = Measure();
        double perStream = (after - before) / (double)count;
        Console.WriteLine($"{count} idle streams: {after - before} bytes of managed heap, {perStream:0} bytes per stream (both ends); active on client {loop.Client.ActiveStreamCount}, server {loop.Server.ActiveStreamCount}");
        GC.KeepAlive(clientStreams);
        GC.KeepAlive(serverStreams);
        return new Result("idle-streams").Add("bytes_per_stream", perStream, "0").Add("streams", count, "0");
    }

    private static long Measure()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
