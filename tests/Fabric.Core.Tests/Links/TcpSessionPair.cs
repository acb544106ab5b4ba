using System.Net;
using Fabric.Core.Links;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Links;

/// <summary>Two started sessions over one loopback TCP connection; the links are kept for the tests to poke at.</summary>
internal sealed class TcpSessionPair : IAsyncDisposable
{
    private TcpSessionPair(TcpLinkListener listener, TcpLink clientLink, TcpLink serverLink, FabricSession client, FabricSession server)
    {
        Listener = listener;
        ClientLink = clientLink;
        ServerLink = serverLink;
        Client = client;
        Server = server;
    }

    public TcpLinkListener Listener { get; }

    public TcpLink ClientLink { get; }

    public TcpLink ServerLink { get; }

    public FabricSession Client { get; }

    public FabricSession Server { get; }

    public static async Task<TcpSessionPair> StartAsync()
    {
        TcpLinkListener listener = TcpLinkListener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
        Task<TcpLink> accept = listener.AcceptAsync().AsTask();
        TcpLink clientLink = await TcpLink.ConnectAsync(listener.LocalEndPoint).WaitAsync(TestTimeouts.Short);
        TcpLink serverLink = await accept.WaitAsync(TestTimeouts.Short);
        var client = new FabricSession(clientLink, SessionRole.Initiator);
        var server = new FabricSession(serverLink, SessionRole.Acceptor);
        client.Start();
        server.Start();
        await Task.WhenAll(client.Ready, server.Ready).WaitAsync(TestTimeouts.Short);
        return new TcpSessionPair(listener, clientLink, serverLink, client, server);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        await Server.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        await Listener.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
    }
}
