using System.Diagnostics;
using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Security;

namespace Benchmarks.Scenarios;

/// <summary>
/// Secure-link handshakes over loopback TCP: the time of one handshake (connect excluded) one at a time, and the
/// handshakes per second a responder completes with two initiators working at once.
/// </summary>
internal static class Handshake
{
    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        int sequential = args.Quick ? 200 : 2000;
        TimeSpan parallelFor = args.Quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(10);
        using NodeIdentity serverId = NodeIdentity.Generate();
        using NodeIdentity clientId = NodeIdentity.Generate();
        var unlimited = new SecureLinkOptions { HandshakesPerSecondPerSource = 1e9, HandshakeBurstPerSource = 1_000_000 };
        var server = new SecureLinkEndpoint(serverId, new FabricTrust(pinnedPublicKeys: [clientId.PublicKey]), unlimited);
        var client = new SecureLinkEndpoint(clientId, new FabricTrust(pinnedPublicKeys: [serverId.PublicKey]), unlimited);
        await using TcpLinkListener listener = TcpLinkListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        using var stop = new CancellationTokenSource();
        Task acceptLoop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                TcpLink carrier;
                try
                {
                    carrier = await listener.AcceptAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                _ = Task.Run(async () =>
                {
                    SecureLink? link = await server.AcceptAsync(carrier, IPAddress.Loopback);
                    if (link is null)
                    {
                        await carrier.DisposeAsync();
                    }
                    else
                    {
                        await link.DisposeAsync();
                    }
                });
            }
        });

        for (int i = 0; i < 50; i++)
        {
            await OneAsync(client, listener.LocalEndPoint, serverId.PublicKey); // warm-up
        }

        var times = new double[sequential];
        for (int i = 0; i < sequential; i++)
        {
            times[i] = await OneAsync(client, listener.LocalEndPoint, serverId.PublicKey);
        }

        Array.Sort(times);
        long completed = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < parallelFor)
            {
                await OneAsync(client, listener.LocalEndPoint, serverId.PublicKey);
                Interlocked.Increment(ref completed);
            }
        })));
        double perSecond = completed / clock.Elapsed.TotalSeconds;
        stop.Cancel();
        await acceptLoop;
        Console.WriteLine($"handshake p50 {Stats.Percentile(times, 50):0.000} ms, p99 {Stats.Percentile(times, 99):0.000} ms; {perSecond:0} handshakes/s with 2 initiators (server and clients share the 2 cores)");
        return new Result("handshake")
            .Add("handshake_ms", Stats.Percentile(times, 50), "0.000")
            .Add("p99_ms", Stats.Percentile(times, 99), "0.000")
            .Add("handshakes_per_s", perSecond, "0");
    }

    private static async Task<double> OneAsync(SecureLinkEndpoint client, IPEndPoint server, byte[] serverKey)
    {
        TcpLink carrier = await TcpLink.ConnectAsync(server);
        long start = Stopwatch.GetTimestamp();
        SecureLink link = await client.ConnectAsync(carrier, serverKey);
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        await link.DisposeAsync();
        return ms;
    }
}
