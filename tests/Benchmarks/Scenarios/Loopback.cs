using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Sessions;

namespace Benchmarks.Scenarios;

/// <summary>Two fabric sessions over a loopback TCP link, as two nodes would hold them.</summary>
internal sealed class Loopback : IAsyncDisposable
{
    private Loopback(FabricSession client, FabricSession server)
    {
        Client = client;
        Server = server;
    }

    public FabricSession Client { get; }

    public FabricSession Server { get; }

    public static async Task<Loopback> StartAsync(FabricSessionOptions? options = null, TcpLinkOptions? tcp = null)
    {
        await using TcpLinkListener listener = TcpLinkListener.Listen(new IPEndPoint(IPAddress.Loopback, 0), tcp);
        ValueTask<TcpLink> accept = listener.AcceptAsync();
        TcpLink clientLink = await TcpLink.ConnectAsync(listener.LocalEndPoint, tcp);
        TcpLink serverLink = await accept;
        var client = new FabricSession(clientLink, SessionRole.Initiator, options);
        var server = new FabricSession(serverLink, SessionRole.Acceptor, options);
        client.Start();
        server.Start();
        await Task.WhenAll(client.Ready, server.Ready);
        return new Loopback(client, server);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
