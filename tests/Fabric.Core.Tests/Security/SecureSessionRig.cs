using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Security;

/// <summary>
/// Two started fabric sessions over secure links, A (initiator) and B (acceptor), with a <see cref="RecordRelay"/>
/// between the carriers that lets a test inject bytes into the A→B record stream.
/// </summary>
internal sealed class SecureSessionRig : IAsyncDisposable
{
    private readonly NodeIdentity _a;
    private readonly NodeIdentity _b;

    private SecureSessionRig(NodeIdentity a, NodeIdentity b, RecordRelay relay, SecureLink linkA, SecureLink linkB, FabricSession sessionA, FabricSession sessionB)
    {
        _a = a;
        _b = b;
        Relay = relay;
        LinkA = linkA;
        LinkB = linkB;
        A = sessionA;
        B = sessionB;
    }

    public RecordRelay Relay { get; }

    public SecureLink LinkA { get; }

    public SecureLink LinkB { get; }

    public FabricSession A { get; }

    public FabricSession B { get; }

    public static async Task<SecureSessionRig> StartAsync(bool overTcp, SecureLinkOptions? optionsA = null, SecureLinkOptions? optionsB = null)
    {
        NodeIdentity a = NodeIdentity.Generate();
        NodeIdentity b = NodeIdentity.Generate();
        var (endpointA, endpointB) = SecureTestPeers.PinnedEndpoints(a, b, optionsA, optionsB);
        var (carrierA, relayLeft) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var (relayRight, carrierB) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var relay = new RecordRelay(relayLeft, relayRight);
        var (linkA, linkB) = await SecureTestPeers.HandshakeAsync(endpointA, endpointB, carrierA, carrierB, IPAddress.Loopback);
        var sessionA = new FabricSession(linkA, SessionRole.Initiator);
        var sessionB = new FabricSession(linkB, SessionRole.Acceptor);
        sessionA.Start();
        sessionB.Start();
        await Task.WhenAll(sessionA.Ready, sessionB.Ready).WaitAsync(TestTimeouts.Short);
        return new SecureSessionRig(a, b, relay, linkA, linkB, sessionA, sessionB);
    }

    /// <summary>Starts a rig, runs <paramref name="test"/> on it and disposes it, each step with a timeout.</summary>
    public static async Task RunAsync(bool overTcp, Func<SecureSessionRig, Task> test)
    {
        SecureSessionRig rig = await StartAsync(overTcp).WaitAsync(TestTimeouts.Long);
        try
        {
            await test(rig).WaitAsync(TimeSpan.FromSeconds(45));
        }
        finally
        {
            await rig.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(45));
        }
    }

    /// <summary>Opens a stream from A, echoes <paramref name="payload"/> through B and checks what comes back.</summary>
    public async Task AssertEchoAsync(byte[] payload)
    {
        var (client, server) = await A.OpenPairAsync(B);
        Task echo = Task.Run(async () =>
        {
            await server.CopyToAsync(server).WaitAsync(TestTimeouts.Long);
            server.CompleteWrites();
        });
        Task send = Task.Run(async () =>
        {
            await client.WriteAsync(payload).AsTask().WaitAsync(TestTimeouts.Long);
            client.CompleteWrites();
        });
        byte[] back = await client.ReadToEndAsync();
        await send.WaitAsync(TestTimeouts.Long);
        await echo.WaitAsync(TestTimeouts.Long);
        Assert.Equal(payload, back);
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        await B.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        await LinkA.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await LinkB.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        await Relay.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        _a.Dispose();
        _b.Dispose();
    }
}
