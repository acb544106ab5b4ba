using System.Diagnostics;
using Fabric.Core.Sessions;

namespace Benchmarks.Scenarios;

/// <summary>
/// Head-of-line latency: a 64-byte ping-pong on an interactive stream while 4 bulk streams fill the same session
/// in the same direction. The bulk is paced to a link rate (8 Gbit/s by default), as a bandwidth-limited link
/// would hold it, leaving CPU to spare; <c>--saturate</c> runs it unpaced (CPU-bound) for the record, <c>--plaintext</c>
/// runs the session over plain TCP, <c>--aes</c> seals the secure link with AES-256-GCM instead of ChaCha20-Poly1305.
/// </summary>
internal static class HolLatency
{
    private const int BulkStreams = 4;
    private const int BulkWrite = 64 * 1024;
    private const int PingSize = 64;

    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        double linkGbps = args.Saturate ? double.PositiveInfinity : 8.0;
        int samples = args.Quick ? 5_000 : 50_000;
        bool plaintext = args.Rest.Contains("--plaintext");
        Fabric.Core.Security.CipherSuite suite = args.Rest.Contains("--aes") ? Fabric.Core.Security.CipherSuite.Aes256Gcm : Fabric.Core.Security.CipherSuite.ChaCha20Poly1305;
        await using Loopback loop = await Loopback.StartAsync(plaintext: plaintext, suite: suite);

        using var stop = new CancellationTokenSource();
        long bulkReceived = 0;
        var bulkTasks = new List<Task>();
        for (int i = 0; i < BulkStreams; i++)
        {
            FabricStream send = await loop.Client.OpenStreamAsync(0xF000, "bulk", TrafficClass.Bulk);
            FabricStream recv = (await loop.Server.AcceptStreamAsync())!;
            bulkTasks.Add(Task.Run(() => PacedWriterAsync(send, linkGbps / BulkStreams, stop.Token)));
            bulkTasks.Add(Task.Run(async () =>
            {
                var buffer = new byte[BulkWrite];
                int n;
                while ((n = await recv.ReadAsync(buffer)) > 0)
                {
                    Interlocked.Add(ref bulkReceived, n);
                }
            }));
        }

        FabricStream ping = await loop.Client.OpenStreamAsync(0xF001, "ping", TrafficClass.Interactive);
        FabricStream pong = (await loop.Server.AcceptStreamAsync())!;
        Task echo = Task.Run(() => EchoAsync(pong));

        var message = new byte[PingSize];
        var reply = new byte[PingSize];
        for (int i = 0; i < 2_000; i++)
        {
            await RoundTripAsync(ping, message, reply); // warm-up, lets the bulk reach its rate
        }

        var rtts = new double[samples];
        long bulkStart = Interlocked.Read(ref bulkReceived);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < samples; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await RoundTripAsync(ping, message, reply);
            rtts[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        clock.Stop();
        double bulkGbps = (Interlocked.Read(ref bulkReceived) - bulkStart) * 8 / clock.Elapsed.TotalSeconds / 1e9;
        stop.Cancel();
        ping.CompleteWrites();
        await echo;
        await Task.WhenAll(bulkTasks);

        Array.Sort(rtts);
        Console.WriteLine($"ping-pong samples {samples}, p50 {Stats.Percentile(rtts, 50):0} us, p90 {Stats.Percentile(rtts, 90):0} us, p99 {Stats.Percentile(rtts, 99):0} us, p99.9 {Stats.Percentile(rtts, 99.9):0} us, max {rtts[^1]:0} us; bulk {bulkGbps:0.00} Gbit/s");
        return new Result("hol-latency")
            .Add("p50_us", Stats.Percentile(rtts, 50), "0")
            .Add("p99_us", Stats.Percentile(rtts, 99), "0")
            .Add("p999_us", Stats.Percentile(rtts, 99.9), "0")
            .Add("gbps", bulkGbps, "0.00")
            .Add("paced_gbps", args.Saturate ? "unpaced" : linkGbps.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture))
            .Add("samples", samples, "0")
            .Add("link", plaintext ? "plaintext" : "secure")
            .Add("cipher", plaintext ? "none" : suite == Fabric.Core.Security.CipherSuite.Aes256Gcm ? "aes-256-gcm" : "chacha20-poly1305");
    }

    private static async Task RoundTripAsync(FabricStream stream, byte[] message, byte[] reply)
    {
        await stream.WriteAsync(message);
        int got = 0;
        while (got < reply.Length)
        {
            int n = await stream.ReadAsync(reply.AsMemory(got));
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            got += n;
        }
    }

    private static async Task EchoAsync(FabricStream stream)
    {
        var buffer = new byte[PingSize];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            await stream.WriteAsync(buffer.AsMemory(0, n));
        }

        stream.CompleteWrites();
    }

    /// <summary>Writes at <paramref name="gbps"/> by a byte budget that grows with elapsed time (token bucket).</summary>
    private static async Task PacedWriterAsync(FabricStream stream, double gbps, CancellationToken stop)
    {
        var buffer = new byte[BulkWrite];
        Random.Shared.NextBytes(buffer);
        double bytesPerSecond = gbps * 1e9 / 8;
        long sent = 0;
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            if (!double.IsInfinity(bytesPerSecond) && sent > clock.Elapsed.TotalSeconds * bytesPerSecond)
            {
                await Task.Delay(1, CancellationToken.None);
                continue;
            }

            await stream.WriteAsync(buffer, CancellationToken.None);
            sent += buffer.Length;
        }

        stream.CompleteWrites();
    }
}
