using System.Net.Security;
using System.Net.Sockets;
using Fabric.Abstractions;
using Fabric.Plugins.Shared;
using Microsoft.Extensions.Logging;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// The egress half of subprotocol 0x0101: a fabric stream from an ingress carries one HTTP/2 connection to a hosted
/// backend. The egress connects to the backend (h2c, or TLS with ALPN h2), answers one byte <see cref="BackendReady"/>
/// so the ingress knows the connection is good before it sends a call (a backend that cannot be reached becomes a
/// failed connect, which the ingress retries on another replica), then joins the two byte for byte.
/// </summary>
internal sealed partial class GrpcEgress(IReadOnlyList<(GrpcBackendOptions Backend, string Instance)> backends, TimeSpan connectTimeout, ILogger logger)
{
    /// <summary>The byte an egress sends once its backend connection is up.</summary>
    public const byte BackendReady = 0x00;

    public async Task ServeAsync(FabricIncoming incoming, CancellationToken cancellationToken)
    {
        // The instance the opener chose; an opener that did not say gets the service's first backend here.
        GrpcBackendOptions? backend = backends.FirstOrDefault(b => b.Backend.Name == incoming.Service && (incoming.Instance.Length == 0 || b.Instance == incoming.Instance)).Backend;
        if (backend is null)
        {
            incoming.Abort(FabricErrorCodes.NoRoute);
            return;
        }

        var uri = new Uri(backend.Backend);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? backendStream = null;
        try
        {
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(connectTimeout);
                await socket.ConnectAsync(uri.Host, uri.Port, timeout.Token).ConfigureAwait(false);
                backendStream = new NetworkStream(socket, ownsSocket: true);
                if (uri.Scheme == Uri.UriSchemeHttps)
                {
                    var tls = new SslStream(backendStream, leaveInnerStreamOpen: false);
                    backendStream = tls;
                    await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = uri.Host,
                        ApplicationProtocols = [SslApplicationProtocol.Http2],
#pragma warning disable CA5359 // an explicit, per-backend opt-in for self-signed test backends; off by default
                        RemoteCertificateValidationCallback = backend.AcceptAnyCertificate ? (_, _, _, _) => true : null,
#pragma warning restore CA5359
                    }, timeout.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException or System.Security.Authentication.AuthenticationException)
        {
            Log.BackendUnreachable(logger, incoming.Service, backend.Backend, ex.Message);
            incoming.Abort(FabricErrorCodes.NoRoute);
            if (backendStream is not null)
            {
                await backendStream.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            return;
        }

        try
        {
            await incoming.Stream.WriteAsync(new[] { BackendReady }, cancellationToken).ConfigureAwait(false);
            await incoming.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            bool plain = uri.Scheme != Uri.UriSchemeHttps;
            await ByteSplice.RunAsync(
                incoming.Stream, incoming.CompleteWrites,
                backendStream, () => { if (plain) { socket.Shutdown(SocketShutdown.Send); } },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Log.EgressEnded(logger, incoming.Service, ex.Message);
            incoming.Abort(FabricErrorCodes.Cancel);
        }
        finally
        {
            await backendStream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5310, Level = LogLevel.Warning, Message = "gRPC backend {Backend} of service {Service} is unreachable: {Reason}")]
        public static partial void BackendUnreachable(ILogger logger, string service, string backend, string reason);

        [LoggerMessage(EventId = 5311, Level = LogLevel.Debug, Message = "gRPC egress connection of service {Service} ended: {Reason}")]
        public static partial void EgressEnded(ILogger logger, string service, string reason);
    }
}
