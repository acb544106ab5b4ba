using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Fabric.Abstractions;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Fabric.Samples.VendorPlugin;

/// <summary>
/// The client side of a TCP protocol, as an MQTT or SMTP driver has it: the plugin's own TCP listeners on the host's
/// Kestrel (a raw connection handler, no HTTP), and each client connection carried as one fabric stream to a replica
/// of the target service, wherever it runs. Bytes pass through unchanged both ways; a half-close passes on; the
/// client learns why in one line (<c>ERROR ...</c>) when no replica takes the stream. Connections past
/// <c>MaxConnections</c> are closed as they arrive, a connection with no bytes either way for
/// <c>IdleTimeoutSeconds</c> is closed, and when the gateway stops every connection is closed as soon as Kestrel asks.
/// </summary>
internal sealed class TcpBridge(IReadOnlyList<IPEndPoint> listen, string target, int maxConnections, TimeSpan idleTimeout, ushort subprotocol)
{
    private readonly TaskCompletionSource<IFabric> _fabric = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<ConnectionContext, Bridged> _clients = new();
    private volatile bool _stopping;
    private int _open;

    /// <summary>Client connections bridged now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Reads <c>Listen</c>, <c>Target</c>, <c>MaxConnections</c> and <c>IdleTimeoutSeconds</c>; errors name the key (<paramref name="prefix"/> + key).</summary>
    public static TcpBridge? FromSettings(IConfiguration settings, string prefix, string? hostedService, ushort subprotocol)
    {
        List<IPEndPoint> listen = [];
        foreach (IConfigurationSection entry in settings.GetSection("Listen").GetChildren())
        {
            if (string.IsNullOrWhiteSpace(entry.Value))
            {
                continue; // blanked out by a later configuration layer
            }

            if (!IPEndPoint.TryParse(entry.Value, out IPEndPoint? endPoint) || endPoint.Port == 0)
            {
                throw new ArgumentException($"Configuration error at '{prefix}:Listen:{entry.Key}': '{entry.Value}' is not an address:port");
            }

            listen.Add(endPoint);
        }

        if (listen.Count == 0)
        {
            return null;
        }

        string target = settings["Target"] is { Length: > 0 } t ? t : hostedService ?? throw new ArgumentException($"Configuration error at '{prefix}:Target': the service the listeners reach is required");
        int max = 1000;
        if (settings["MaxConnections"] is { Length: > 0 } text && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max is < 1 or > 1_000_000))
        {
            throw new ArgumentException($"Configuration error at '{prefix}:MaxConnections': '{text}' is outside 1..1000000");
        }

        double idle = 300;
        if (settings["IdleTimeoutSeconds"] is { Length: > 0 } idleText
            && (!double.TryParse(idleText, NumberStyles.Float, CultureInfo.InvariantCulture, out idle) || !(idle is >= 1 and <= 86_400)))
        {
            throw new ArgumentException($"Configuration error at '{prefix}:IdleTimeoutSeconds': '{idleText}' is outside 1..86400");
        }

        return new TcpBridge(listen, target, max, TimeSpan.FromSeconds(idle), subprotocol);
    }

    /// <summary>Adds the listeners to the host's Kestrel (from ConfigureServices).</summary>
    public void Listen(KestrelServerOptions kestrel)
    {
        foreach (IPEndPoint endPoint in listen)
        {
            kestrel.Listen(endPoint, l => l.Run(ServeAsync));
        }
    }

    /// <summary>The fabric is up: connections are bridged from now on (earlier ones wait for it).</summary>
    public void Start(IFabric fabric) => _fabric.TrySetResult(fabric);

    /// <summary>Closes every bridged connection, and any that still arrives.</summary>
    public void Stop()
    {
        _stopping = true;
        _fabric.TrySetCanceled();
        foreach ((ConnectionContext client, Bridged bridge) in _clients)
        {
            bridge.End();
            client.Abort(new ConnectionAbortedException("the plugin is stopping"));
        }
    }

    private async Task ServeAsync(ConnectionContext client)
    {
        if (Interlocked.Increment(ref _open) > maxConnections || _stopping)
        {
            Interlocked.Decrement(ref _open);
            client.Abort(new ConnectionAbortedException(_stopping ? "the plugin is stopping" : $"more than {maxConnections} connections"));
            return;
        }

        // Not linked to client.ConnectionClosed: Kestrel fires that on the client's FIN, and a client that half-closes
        // (sends its lines, then shuts down its sending side) still waits for the answers. Ended by Stop, by a client
        // that resets, by the idle timeout, and when the fabric stream ends.
        using var bridge = new Bridged();
        _clients[client] = bridge;
        if (_stopping)
        {
            bridge.End(); // Stop ran between the check and the add
        }

        // Kestrel asks every connection to close when the host stops (after Gateway:ShutdownDelaySeconds), and waits
        // for them: an HTTP connection finishes its request, a raw one has to watch for the request itself, or the
        // gateway's stop waits for it until the stop budget runs out.
        using CancellationTokenRegistration closing = client.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested.Register(bridge.End) ?? default;
        Task idle = bridge.EndWhenIdleAsync(idleTimeout);
        try
        {
            IFabric fabric = await _fabric.Task.WaitAsync(bridge.Token).ConfigureAwait(false);
            FabricConnection connection;
            try
            {
                connection = await fabric.OpenAsync(target, subprotocol, new FabricOpenOptions
                {
                    Source = client.RemoteEndPoint as IPEndPoint,
                    TrafficClass = FabricTrafficClass.Interactive,
                }, bridge.Token).ConfigureAwait(false);
            }
            catch (FabricOpenException ex)
            {
                await client.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes($"ERROR {ex.Code} {ex.Message}\n"), bridge.Token).ConfigureAwait(false);
                return;
            }

            await using (connection.ConfigureAwait(false))
            {
                // The client's half-close only ends the stream's writes: the replica may still answer. The stream's
                // end (or reset) ends the client connection, whatever the client is still sending.
                Task up = PumpUpAsync(client.Transport.Input, connection, bridge);
                try
                {
                    await PumpDownAsync(connection.Stream, client.Transport.Output, bridge).ConfigureAwait(false);
                }
                finally
                {
                    bridge.End();
                    await up.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // ended now, or already
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the client reset, it was idle too long, or the plugin is stopping
        }
        catch (IOException)
        {
            // the fabric stream was reset (the replica went away, a line too long): the client connection closes
        }
        finally
        {
            bridge.End();
            await idle.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _clients.TryRemove(client, out _);
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>Client to fabric; the client's half-close ends the stream's writes, a reset ends the bridge.</summary>
    private static async Task PumpUpAsync(PipeReader from, FabricConnection to, Bridged bridge)
    {
        try
        {
            while (true)
            {
                ReadResult read = await from.ReadAsync(bridge.Token).ConfigureAwait(false);
                bridge.Touch();
                foreach (ReadOnlyMemory<byte> segment in read.Buffer)
                {
                    await to.Stream.WriteAsync(segment, bridge.Token).ConfigureAwait(false);
                }

                from.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    await to.Stream.FlushAsync(bridge.Token).ConfigureAwait(false);
                    to.CompleteWrites();
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionAbortedException)
        {
            bridge.End();
            throw;
        }
    }

    /// <summary>Fabric to client; the stream's end closes the client's side.</summary>
    private static async Task PumpDownAsync(Stream from, PipeWriter to, Bridged bridge)
    {
        while (true)
        {
            Memory<byte> buffer = to.GetMemory(16 * 1024);
            int n = await from.ReadAsync(buffer, bridge.Token).ConfigureAwait(false);
            if (n == 0)
            {
                await to.CompleteAsync().ConfigureAwait(false);
                return;
            }

            bridge.Touch();
            to.Advance(n);
            FlushResult flushed = await to.FlushAsync(bridge.Token).ConfigureAwait(false);
            if (flushed.IsCompleted)
            {
                return; // the client stopped reading
            }
        }
    }

    /// <summary>One bridged connection: how it is ended, and when bytes last moved.</summary>
    private sealed class Bridged : IDisposable
    {
        private readonly CancellationTokenSource _end = new();
        private long _lastActivity = Environment.TickCount64;

        public CancellationToken Token => _end.Token;

        /// <summary>Bytes moved (either way).</summary>
        public void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

        /// <summary>Ends the bridge (idempotent; harmless after dispose).</summary>
        public void End()
        {
            try
            {
                _end.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the connection has just ended
            }
        }

        /// <summary>Ends the bridge once no bytes moved for <paramref name="timeout"/>; returns when the bridge ends.</summary>
        public async Task EndWhenIdleAsync(TimeSpan timeout)
        {
            try
            {
                while (true)
                {
                    long idleMs = Environment.TickCount64 - Volatile.Read(ref _lastActivity);
                    long leftMs = (long)timeout.TotalMilliseconds - idleMs;
                    if (leftMs <= 0)
                    {
                        End();
                        return;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(leftMs), _end.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // ended otherwise
            }
        }

        public void Dispose() => _end.Dispose();
    }
}
