using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using Fabric.Abstractions;
using Fabric.Plugins.Shared;
using Microsoft.Extensions.Logging;

namespace Fabric.Plugins.Http;

/// <summary>
/// The egress half: a fabric stream for a hosted service is joined, byte for byte, to a new connection to the
/// service's backend. Nothing is parsed, so HTTP/1.1, HTTP/2 with prior knowledge, trailers and WebSocket upgrades
/// pass unchanged. For an https backend the stream is wrapped in TLS; the ALPN offered is h2 when the first bytes
/// from the ingress are the HTTP/2 preface, http/1.1 otherwise.
/// </summary>
internal sealed partial class HttpEgress(IReadOnlyDictionary<string, HttpBackendOptions> backends, TimeSpan connectTimeout, ILogger logger)
{
    private static readonly byte[] Http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    public async Task ServeAsync(FabricIncoming incoming, CancellationToken cancellationToken)
    {
        if (!backends.TryGetValue(incoming.Service, out HttpBackendOptions? backend))
        {
            incoming.Abort(FabricErrorCodes.NoRoute);
            return;
        }

        var uri = new Uri(backend.Backend);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(connectTimeout);
            await socket.ConnectAsync(uri.Host, uri.Port, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            Log.BackendUnreachable(logger, incoming.Service, backend.Backend, ex.Message);
            incoming.Abort(FabricErrorCodes.NoRoute);
            return;
        }

        Stream backendStream = new NetworkStream(socket, ownsSocket: false);
        byte[] head = [];
        try
        {
            if (uri.Scheme == Uri.UriSchemeHttps)
            {
                head = await ReadHeadAsync(incoming.Stream, cancellationToken).ConfigureAwait(false);
                bool http2 = head.AsSpan().SequenceEqual(Http2Preface.AsSpan(0, head.Length)) && head.Length == Http2Preface.Length;
                var tls = new SslStream(backendStream, leaveInnerStreamOpen: false);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = uri.Host,
                    ApplicationProtocols = [http2 ? SslApplicationProtocol.Http2 : SslApplicationProtocol.Http11],
#pragma warning disable CA5359 // an explicit, per-backend opt-in for self-signed test backends; off by default
                    RemoteCertificateValidationCallback = backend.AcceptAnyCertificate ? (_, _, _, _) => true : null,
#pragma warning restore CA5359
                }, cancellationToken).ConfigureAwait(false);
                backendStream = tls;
                await backendStream.WriteAsync(head, cancellationToken).ConfigureAwait(false);
            }

            await ByteSplice.RunAsync(incoming.Stream, incoming.CompleteWrites, backendStream, () => socket.Shutdown(SocketShutdown.Send), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Log.EgressFailed(logger, incoming.Service, ex.Message);
            incoming.Abort(FabricErrorCodes.Cancel);
        }
        finally
        {
            await backendStream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads up to the length of the HTTP/2 preface, stopping at the first byte that differs.</summary>
    private static async Task<byte[]> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] head = new byte[Http2Preface.Length];
        int filled = 0;
        while (filled < head.Length)
        {
            int n = await stream.ReadAsync(head.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            filled += n;
            if (!head.AsSpan(0, filled).SequenceEqual(Http2Preface.AsSpan(0, filled)))
            {
                break;
            }
        }

        return head[..filled];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5200, Level = LogLevel.Warning, Message = "Backend {Backend} of service {Service} is unreachable: {Reason}")]
        public static partial void BackendUnreachable(ILogger logger, string service, string backend, string reason);

        [LoggerMessage(EventId = 5201, Level = LogLevel.Debug, Message = "Egress stream of service {Service} ended: {Reason}")]
        public static partial void EgressFailed(ILogger logger, string service, string reason);
    }
}
