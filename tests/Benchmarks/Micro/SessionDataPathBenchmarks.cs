using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Fabric.Core.Links;
using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Benchmarks.Micro;

/// <summary>
/// The whole session data path in steady state: a 16 KiB write becomes one DATA frame through the scheduler and
/// writer loop, crosses an in-memory link, is parsed by the read loop and read by the application; credit frames
/// flow back. With <see cref="Secure"/> the link is a secure link over the in-memory pair (handshake done in setup),
/// so each frame is also sealed into a record and opened. Allocated bytes per operation = per DATA frame written and
/// read (expected 0 B).
/// </summary>
[MemoryDiagnoser]
public class SessionDataPathBenchmarks
{
    private const int Frames = 256;
    private const int PayloadSize = 16 * 1024;
    private readonly byte[] _payload = new byte[PayloadSize];
    private readonly byte[] _readBuffer = new byte[PayloadSize];
    private FabricSession _a = null!;
    private FabricSession _b = null!;
    private FabricStream _send = null!;
    private FabricStream _recv = null!;

    /// <summary>Sessions over a secure link (ChaCha20-Poly1305 records) rather than the bare in-memory pair.</summary>
    [Params(false, true)]
    public bool Secure { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (carrierA, carrierB) = InMemoryLink.CreatePair();
        IFabricLink linkA = carrierA, linkB = carrierB;
        if (Secure)
        {
            var idA = NodeIdentity.Generate();
            var idB = NodeIdentity.Generate();
            var endpointA = new SecureLinkEndpoint(idA, new FabricTrust(pinnedPublicKeys: [idB.PublicKey]), new SecureLinkOptions());
            var endpointB = new SecureLinkEndpoint(idB, new FabricTrust(pinnedPublicKeys: [idA.PublicKey]), new SecureLinkOptions());
            Task<SecureLink?> accepted = endpointB.AcceptAsync(carrierB, System.Net.IPAddress.Loopback);
            linkA = endpointA.ConnectAsync(carrierA, idB.PublicKey).GetAwaiter().GetResult();
            linkB = accepted.GetAwaiter().GetResult() ?? throw new InvalidOperationException("handshake dropped");
        }

        // Long ping interval: keepalive pings are not data-path work.
        var options = new FabricSessionOptions { PingInterval = TimeSpan.FromMinutes(5), IdleTimeout = TimeSpan.Zero };
        _a = new FabricSession(linkA, SessionRole.Initiator, options);
        _b = new FabricSession(linkB, SessionRole.Acceptor, options);
        _a.Start();
        _b.Start();
        Task.WhenAll(_a.Ready, _b.Ready).GetAwaiter().GetResult();
        _send = _a.OpenStreamAsync(0xF000, "bench", TrafficClass.Bulk).AsTask().GetAwaiter().GetResult();
        _recv = _b.AcceptStreamAsync().AsTask().GetAwaiter().GetResult()!;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _a.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _b.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<long> WriteAndReadDataFrame()
    {
        long total = 0;
        for (int i = 0; i < Frames; i++)
        {
            await _send.WriteAsync(_payload);
            int got = 0;
            while (got < PayloadSize)
            {
                got += await _recv.ReadAsync(_readBuffer.AsMemory(got));
            }

            total += got;
        }

        return total;
    }
}
