using System.Net;
using System.Net.Sockets;

namespace Benchmarks.Scenarios;

/// <summary>
/// A loopback TCP forwarder in front of a node, so a benchmark can break the node's links the way a crash or a
/// network fault would, without the node saying GOAWAY: <see cref="Cut"/> resets every connection (RST both ways)
/// and refuses new ones; <see cref="Stall"/> silently stops forwarding (a black hole: sockets stay open).
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly EndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private volatile bool _stalled;
    private bool _cut;

    private TcpForwarder(EndPoint target)
    {
        _target = target;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where to dial instead of the target.</summary>
    public IPEndPoint EndPoint { get; }

    public static TcpForwarder Start(EndPoint target) => new(target);

    /// <summary>Resets every forwarded connection (linger 0: RST to both ends) and refuses new ones.</summary>
    public void Cut()
    {
        Socket[] sockets;
        lock (_lock)
        {
            _cut = true;
            sockets = [.. _sockets];
            _sockets.Clear();
        }

        _listener.Close();
        foreach (Socket socket in sockets)
        {
            Reset(socket);
        }
    }

    /// <summary>Stops forwarding anything, in both directions, on every connection; nothing is closed.</summary>
    public void Stall() => _stalled = true;

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ForwardAsync(client));
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.NoDelay = true;
        server.NoDelay = true;
        lock (_lock)
        {
            if (_cut)
            {
                Reset(client);
                server.Dispose();
                return;
            }

            _sockets.Add(client);
            _sockets.Add(server);
        }

        try
        {
            await server.ConnectAsync(_target, _stop.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            Reset(client);
            Reset(server);
            return;
        }

        await Task.WhenAll(PumpAsync(client, server), PumpAsync(server, client));
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (_stalled)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token); // hold everything: a black hole
                }

                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                int sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _stop.Token);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            Reset(from);
            Reset(to);
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
        }

        socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        Socket[] sockets;
        lock (_lock)
        {
            sockets = [.. _sockets];
            _sockets.Clear();
        }

        foreach (Socket socket in sockets)
        {
            Reset(socket);
        }

        await _acceptLoop;
        _stop.Dispose();
    }
}
