using System.Net;
using System.Net.Http.Headers;
using Fabric.Abstractions;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Plugins.Http;

/// <summary>
/// YARP's HTTP client factory with one change: a connection to a <c>r…fabric</c> destination is a fabric stream to
/// exactly that replica (SocketsHttpHandler.ConnectCallback), so everything above — HTTP/1.1 or HTTP/2, pooling,
/// WebSocket upgrades — is plain .NET HTTP over the stream. A connection is pooled and reused by many requests, as
/// a socket would be. The handler chain gets <see cref="FabricRetryHandler"/> on top.
/// </summary>
internal sealed class FabricForwarderHttpClientFactory(FabricHolder fabric, FabricDestinations names, LiveFabricConnections live, HttpDriverOptions options, ILoggerFactory loggers)
    : ForwarderHttpClientFactory(loggers.CreateLogger<ForwarderHttpClientFactory>())
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ConnectCallback = ConnectAsync;

        // A pooled connection is a fabric stream the serving node's drain waits for: let idle ones go soon. A new
        // one costs a stream open (one round trip to the serving node) and its backend connection.
        handler.PooledConnectionIdleTimeout = TimeSpan.FromSeconds(options.PooledConnectionIdleSeconds);
    }

    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler)
        => new FabricRetryHandler(base.WrapHandler(context, handler), names, fabric, options.MaxRetries, loggers.CreateLogger<FabricRetryHandler>());

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        string host = context.DnsEndPoint.Host;
        if (!FabricDestinations.IsFabricHost(host))
        {
            return await DirectSocketAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
        }

        IFabric current = fabric.Current ?? throw new FabricOpenException(FabricErrorCodes.NoRoute, "the fabric is not up yet");
        if (!names.TryResolve(host, out string service, out string replica))
        {
            throw new FabricOpenException(FabricErrorCodes.NoRoute, $"unknown fabric destination {host}");
        }

        FabricConnection connection = await current.OpenAsync(service, HttpDriverPlugin.Subprotocol.Id, new FabricOpenOptions
        {
            Replica = replica,
            Source = SourceOf(context.InitialRequestMessage),
            TrafficClass = FabricTrafficClass.Reliable,
        }, cancellationToken).ConfigureAwait(false);
        return live.Track(connection);
    }

    /// <summary>The client address YARP put in X-Forwarded-For (the connection's first request).</summary>
    private static IPEndPoint? SourceOf(HttpRequestMessage request)
    {
        if (request.Headers.TryGetValues("X-Forwarded-For", out IEnumerable<string>? values))
        {
            string? first = values.FirstOrDefault()?.Split(',')[0].Trim();
            if (first is not null && IPAddress.TryParse(first, out IPAddress? address))
            {
                return new IPEndPoint(address, 0);
            }
        }

        return null;
    }

    private static async ValueTask<Stream> DirectSocketAsync(DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
