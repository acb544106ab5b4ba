using System.Net;
using System.Net.Sockets;

namespace Fabric.Core.Links;

/// <summary>Accepts TCP links on one address.</summary>
public sealed class TcpLinkListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly TcpLinkOptions _options;

    private TcpLinkListener(Socket socket, TcpLinkOptions options)
    {
        _socket = socket;
        _options = options;
    }

    /// <summary>The bound address (with the actual port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>Binds and listens on <paramref name="endPoint"/>.</summary>
    public static TcpLinkListener Listen(IPEndPoint endPoint, TcpLinkOptions? options = null, int backlog = 512)
    {
        options ??= new TcpLinkOptions();
        options.Validate();
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Buffer sizes must be set on the listener so the window scale is negotiated for them.
            if (options.ReceiveBufferSize > 0)
            {
                socket.ReceiveBufferSize = options.ReceiveBufferSize;
            }

            socket.Bind(endPoint);
            socket.Listen(backlog);
            return new TcpLinkListener(socket, options);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the next connection.</summary>
    public async ValueTask<TcpLink> AcceptAsync(CancellationToken cancellationToken = default)
    {
        Socket accepted = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return TcpLink.FromAccepted(accepted, _options);
        }
        catch
        {
            accepted.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return default;
    }
}
