using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Benchmarks.Scenarios;

/// <summary>
/// Two fabric sessions over a loopback TCP link, as two nodes would hold them: over a secure link (the default
/// for every session) unless <c>plaintext</c> is asked for.
/// </summary>
internal sealed class Loopback : IAsyncDisposable
{
    private Loopback(FabricSession client, FabricSession server, SecureLink? clientLink)
    {
        Client = client;
        Server = server;
        ClientLink = clientLink;
    }

    public FabricSession Client { get; }

    public FabricSession Server { get; }

    public SecureLink? ClientLink { get; }

    public static async Task<Loopback> StartAsync(FabricSessionOptions? options = null, bool plaintext = false, CipherSuite suite = CipherSuite.ChaCha20Poly1305, TcpLinkOptions? tcp = null)
    {
        tcp ??= TcpFromEnvironment();
        await using TcpLinkListener listener = TcpLinkListener.Listen(new IPEndPoint(IPAddress.Loopback, 0), tcp);
        ValueTask<TcpLink> accept = listener.AcceptAsync();
        TcpLink clientCarrier = await TcpLink.ConnectAsync(listener.LocalEndPoint, tcp);
        TcpLink serverCarrier = await accept;
        IFabricLink clientLink = clientCarrier, serverLink = serverCarrier;
        SecureLink? secure = null;
        if (!plaintext)
        {
            var clientId = NodeIdentity.Generate();
            var serverId = NodeIdentity.Generate();
            var secureOptions = new SecureLinkOptions { CipherSuites = [suite] };
            var clientEndpoint = new SecureLinkEndpoint(clientId, new FabricTrust(pinnedPublicKeys: [serverId.PublicKey]), secureOptions);
            var serverEndpoint = new SecureLinkEndpoint(serverId, new FabricTrust(pinnedPublicKeys: [clientId.PublicKey]), secureOptions);
            Task<SecureLink?> accepted = serverEndpoint.AcceptAsync(serverCarrier, IPAddress.Loopback);
            secure = await clientEndpoint.ConnectAsync(clientCarrier, serverId.PublicKey);
            clientLink = secure;
            serverLink = await accepted ?? throw new InvalidOperationException("handshake dropped");
        }

        var client = new FabricSession(clientLink, SessionRole.Initiator, options);
        var server = new FabricSession(serverLink, SessionRole.Acceptor, options);
        client.Start();
        server.Start();
        await Task.WhenAll(client.Ready, server.Ready);
        return new Loopback(client, server, secure);
    }

    /// <summary>FABRIC_BENCH_LOWAT / FABRIC_BENCH_SOCKBUF override the socket tuning, for experiments.</summary>
    private static TcpLinkOptions TcpFromEnvironment()
    {
        var options = new TcpLinkOptions();
        if (int.TryParse(Environment.GetEnvironmentVariable("FABRIC_BENCH_LOWAT"), out int lowat))
        {
            options = options with { NotSentLowWatermark = lowat };
        }

        if (int.TryParse(Environment.GetEnvironmentVariable("FABRIC_BENCH_SOCKBUF"), out int buffer))
        {
            options = options with { SendBufferSize = buffer, ReceiveBufferSize = buffer };
        }

        return options;
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
