using System.Net;
using System.Net.Sockets;

namespace Fabric.Core.Tests.Nodes;

/// <summary>
/// A TCP forwarder on 127.0.0.1 in front of a node's listener, to break a path the way networks do: <see cref="Kill"/>
/// resets every connection and stops listening (a dead path), <see cref="Refuse"/> resets every connection, new ones
/// as soon as they are accepted (a path whose far end is down, counting the dials), <see cref="Freeze"/> stops moving
/// bytes but keeps the connections open (a silent path: no FIN, no RST), <see cref="Restart"/> forwards again on the
/// same port.
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _lock = new();
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _disposed = new();
    private Socket? _listener;
    private CancellationTokenSource _generation = new();
    private TaskCompletionSource _thawed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _frozen;
    private volatile bool _refusing;
    private int _accepted;

    public TcpForwarder(IPEndPoint target)
    {
        _target = target;
        EndPoint = Listen(new IPEndPoint(IPAddress.Loopback, 0));
    }

    /// <summary>Where to dial the target through this forwarder.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Resets every connection (RST both ways) and stops listening: dials fail with "connection refused".</summary>
    public void Kill()
    {
        lock (_lock)
        {
            _generation.Cancel();
            _generation = new CancellationTokenSource();
            _listener?.Dispose();
            _listener = null;
            foreach (Socket socket in _sockets)
            {
                Reset(socket);
            }

            _sockets.Clear();
        }
    }

    /// <summary>Resets every connection, and every new one once accepted (each counted in <see cref="Accepted"/>).</summary>
    public void Refuse()
    {
        Kill();
        lock (_lock)
        {
            _refusing = true;
            Listen(EndPoint);
        }
    }

    /// <summary>Listens and forwards again on the same port.</summary>
    public void Restart()
    {
        lock (_lock)
        {
            _refusing = false;
            if (_listener is null)
            {
                Listen(EndPoint);
            }
        }
    }

    /// <summary>Stops forwarding bytes in both directions; the connections stay open and nothing tells either end.</summary>
    public void Freeze() => _frozen = true;

    /// <summary>Forwards bytes again.</summary>
    public void Thaw()
    {
        _frozen = false;
        Interlocked.Exchange(ref _thawed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public ValueTask DisposeAsync()
    {
        _disposed.Cancel();
        Kill();
        _thawed.TrySetResult();
        return ValueTask.CompletedTask;
    }

    private IPEndPoint Listen(IPEndPoint at)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(at);
        listener.Listen(64);
        _listener = listener;
        _ = AcceptLoopAsync(listener, _generation.Token);
        return (IPEndPoint)listener.LocalEndPoint!;
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken generation)
    {
        while (!generation.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(generation);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            if (_refusing)
            {
                Reset(client);
                continue;
            }

            _ = ConnectAsync(client, generation);
        }
    }

    private async Task ConnectAsync(Socket client, CancellationToken generation)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        lock (_lock)
        {
            if (generation.IsCancellationRequested)
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
            await server.ConnectAsync(_target, generation);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Reset(client);
            server.Dispose();
            return;
        }

        _ = PumpAsync(client, server, generation);
        _ = PumpAsync(server, client, generation);
    }

    private async Task PumpAsync(Socket from, Socket to, CancellationToken generation)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                await WhileFrozenAsync(generation);
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, generation);
                await WhileFrozenAsync(generation);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, generation);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Reset(from);
            Reset(to);
        }
    }

    private async Task WhileFrozenAsync(CancellationToken generation)
    {
        while (_frozen && !generation.IsCancellationRequested && !_disposed.IsCancellationRequested)
        {
            await _thawed.Task.WaitAsync(generation);
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}
