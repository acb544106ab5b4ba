using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fabric.Core.Sessions;

namespace Benchmarks.Scenarios;

/// <summary>
/// One bulk stream over one fabric session on loopback TCP, against a plain TCP socket copy with the same write
/// size, alternating rounds in the same run. Reports the medians.
/// </summary>
internal static class MuxThroughput
{
    internal const int WriteSize = 64 * 1024;

    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        TimeSpan duration = args.Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5);
        int rounds = args.Quick ? 3 : 5;
        var tcp = new List<double>();
        var fabric = new List<double>();
        await PlainTcpAsync(TimeSpan.FromSeconds(1)); // warm-up
        await FabricAsync(TimeSpan.FromSeconds(1));
        for (int i = 0; i < rounds; i++)
        {
            tcp.Add(await PlainTcpAsync(duration));
            fabric.Add(await FabricAsync(duration));
            Console.WriteLine($"round {i + 1}: tcp {tcp[^1]:0.00} Gbit/s, fabric {fabric[^1]:0.00} Gbit/s");
        }

        double t = Stats.Median(tcp), f = Stats.Median(fabric);
        return new Result("mux-throughput").Add("gbps", f, "0.00").Add("tcp_gbps", t, "0.00").Add("ratio_vs_tcp", f / t, "0.00")
            .Add("write_size", WriteSize, "0").Add("rounds", rounds, "0");
    }

    private static async Task<double> PlainTcpAsync(TimeSpan duration)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task<Socket> accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        using Socket server = await accept;
        server.NoDelay = true;
        await using var send = new NetworkStream(client, ownsSocket: false);
        await using var recv = new NetworkStream(server, ownsSocket: false);
        return await MeasureAsync(send, recv, duration, () => client.Shutdown(SocketShutdown.Send));
    }

    private static async Task<double> FabricAsync(TimeSpan duration)
    {
        // The session layer alone, over plain TCP: this scenario measures multiplexing against a raw socket copy;
        // link-throughput measures the secure link.
        await using Loopback loop = await Loopback.StartAsync(plaintext: true);
        FabricStream send = await loop.Client.OpenStreamAsync(0xF000, "bulk", TrafficClass.Bulk);
        FabricStream recv = (await loop.Server.AcceptStreamAsync())!;
        double gbps = await MeasureAsync(send, recv, duration, send.CompleteWrites);
        await send.DisposeAsync();
        await recv.DisposeAsync();
        return gbps;
    }

    internal static async Task<double> MeasureAsync(Stream send, Stream recv, TimeSpan duration, Action completeSend)
    {
        var buffer = new byte[WriteSize];
        Random.Shared.NextBytes(buffer);
        Task writer = Task.Run(async () =>
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < duration)
            {
                for (int i = 0; i < 64; i++)
                {
                    await send.WriteAsync(buffer);
                }
            }

            completeSend();
        });
        long total = 0;
        var readBuffer = new byte[WriteSize];
        var clock = Stopwatch.StartNew();
        int n;
        while ((n = await recv.ReadAsync(readBuffer)) > 0)
        {
            total += n;
        }

        clock.Stop();
        await writer;
        return total * 8 / clock.Elapsed.TotalSeconds / 1e9;
    }
}
