using System.Diagnostics;
using System.Runtime.CompilerServices;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;

namespace Benchmarks.Scenarios;

/// <summary>
/// One bulk routed stream from node A to a sink service on node B, through real fabric nodes over loopback TCP with
/// secure links: relayed (A linked only to R, R linked to B: 2 hops, end-to-end encrypted inside the link
/// encryption) against direct (A linked to B), same write size and duration, alternating rounds, medians.
/// Throughput is counted where the bytes arrive: the sink handler on B (vendor id 0xF0F0, experimental range) reads
/// and discards, adding to a counter that is sampled over the measured window, after a warm-up of the stream.
/// All nodes share this machine's cores: A encrypts twice, R decrypts and re-encrypts, B decrypts twice; the CPU the
/// process used during each window is reported with it (in cores).
/// </summary>
internal static class RelayThroughput
{
    private const ushort SinkId = 0xF0F0;
    private const string Service = "bench-sink";

    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        TimeSpan duration = args.Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);
        int rounds = args.Quick ? 3 : 5;
        bool plaintext = args.Rest.Contains("--plaintext"); // diagnosis: the same without any encryption
        double loadBefore = Machine.LoadAverage();
        var direct = new List<double>();
        var relayed = new List<double>();
        var directCpu = new List<double>();
        var relayedCpu = new List<double>();
        await MeasureAsync(relay: false, TimeSpan.FromSeconds(1), plaintext); // warm-up
        await MeasureAsync(relay: true, TimeSpan.FromSeconds(1), plaintext);
        for (int i = 0; i < rounds; i++)
        {
            (double gbps, double cpu) = await MeasureAsync(relay: false, duration, plaintext);
            direct.Add(gbps);
            directCpu.Add(cpu);
            (gbps, cpu) = await MeasureAsync(relay: true, duration, plaintext);
            relayed.Add(gbps);
            relayedCpu.Add(cpu);
            Console.WriteLine($"round {i + 1}: direct A->B {direct[^1]:0.00} Gbit/s (CPU {directCpu[^1]:0.00} cores), relayed A->R->B {relayed[^1]:0.00} Gbit/s (CPU {relayedCpu[^1]:0.00} cores), ratio {relayed[^1] / direct[^1]:0.00}");
        }

        double d = Stats.Median(direct), r = Stats.Median(relayed);
        double loadAfter = Machine.LoadAverage();
        Console.WriteLine($"load average (1 min) before {loadBefore:0.00}, after {loadAfter:0.00}, on {Environment.ProcessorCount} cores");
        return new Result("relay-throughput")
            .Add("gbps", r, "0.00")
            .Add("direct_gbps", d, "0.00")
            .Add("ratio_vs_direct", r / d, "0.00")
            .Add("direct_cpu_cores", Stats.Median(directCpu), "0.00")
            .Add("relayed_cpu_cores", Stats.Median(relayedCpu), "0.00")
            .Add("write_size", MuxThroughput.WriteSize, "0")
            .Add("rounds", rounds, "0")
            .Add("cores", Environment.ProcessorCount, "0")
            .Add("link", plaintext ? "plaintext" : "secure")
            .Add("load1", Math.Max(loadBefore, loadAfter), "0.00");
    }

    private static async Task<(double Gbps, double CpuCores)> MeasureAsync(bool relay, TimeSpan duration, bool plaintext)
    {
        var received = new StrongBox<long>(0);
        var v1 = new SubprotocolVersion(1, 0);
        await using var cluster = relay ? new BenchCluster("a", "r", "b") : new BenchCluster("a", "b");
        Func<FabricNodeOptions, FabricNodeOptions> configure = o => o with { Plaintext = plaintext };
        await cluster.StartAsync("b", configure: configure, setup: b =>
        {
            b.RegisterHandler(new SubprotocolDescriptor(SinkId, "bench.sink", v1, v1), (context, ct) => SinkAsync(context, received, ct));
            b.AddLocalService(new ServiceReplica(Service, "b1", [SinkId]));
        });
        if (relay)
        {
            await cluster.StartAsync("r", [cluster.Peer("b")], configure: configure);
        }

        FabricNode a = await cluster.StartAsync("a", [cluster.Peer(relay ? "r" : "b")], configure: configure);
        int hops = relay ? 2 : 1;
        await BenchCluster.WaitUntilAsync(() => a.Directory.FindReplicas(Service, SinkId) is [{ } route] && route.Hops == hops, TimeSpan.FromSeconds(10), $"A learns the sink at {hops} hop(s)");

        RoutedStream stream = await a.OpenServiceStreamAsync(Service, SinkId, new RouteOptions { TrafficClass = TrafficClass.Bulk });
        if (stream.Relayed != relay)
        {
            throw new InvalidOperationException($"expected a {(relay ? "relayed" : "direct")} stream, got {(stream.Relayed ? "relayed" : "direct")}");
        }

        var buffer = new byte[MuxThroughput.WriteSize];
        Random.Shared.NextBytes(buffer);
        bool stop = false;
        Task writer = Task.Run(async () =>
        {
            while (!Volatile.Read(ref stop))
            {
                await stream.WriteAsync(buffer);
            }
        });

        // Let the stream reach its steady state (windows grown, JIT warm), then count what B receives in the window.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        using var process = Process.GetCurrentProcess();
        TimeSpan cpuStart = process.TotalProcessorTime;
        long start = Interlocked.Read(ref received.Value);
        var clock = Stopwatch.StartNew();
        await Task.Delay(duration);
        long end = Interlocked.Read(ref received.Value);
        clock.Stop();
        process.Refresh();
        double cpuCores = (process.TotalProcessorTime - cpuStart).TotalSeconds / clock.Elapsed.TotalSeconds;
        Volatile.Write(ref stop, true);
        await writer;
        await stream.DisposeAsync();
        return ((end - start) * 8 / clock.Elapsed.TotalSeconds / 1e9, cpuCores);
    }

    private static async Task SinkAsync(FabricStreamContext context, StrongBox<long> received, CancellationToken cancellationToken)
    {
        var buffer = new byte[MuxThroughput.WriteSize];
        try
        {
            int n;
            while ((n = await context.Stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                Interlocked.Add(ref received.Value, n);
            }
        }
        catch (IOException)
        {
            // the sender reset the stream at the end of the round
        }
    }
}
