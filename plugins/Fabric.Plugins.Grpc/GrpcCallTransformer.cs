using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// Request headers for the replica: everything the client sent (YARP drops the hop-by-hop ones), the original
/// :authority, <c>te: trailers</c>, and <c>grpc-timeout</c> rewritten to the time left, so the backend's deadline is
/// never later than the client's. Response headers go to the client as soon as the replica sends them (a server
/// may send its headers long before its first message); a Trailers-Only answer stays one HEADERS frame.
/// </summary>
internal sealed class GrpcCallTransformer : HttpTransformer
{
    public static readonly GrpcCallTransformer Instance = new();

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        proxyRequest.Headers.Host = httpContext.Request.Host.Value;
        proxyRequest.Headers.Remove("TE");
        proxyRequest.Headers.TryAddWithoutValidation("TE", "trailers");
        proxyRequest.Headers.Remove("grpc-timeout");
        if (httpContext.Features.Get<GrpcCall>()?.Remaining is { } remaining)
        {
            proxyRequest.Headers.TryAddWithoutValidation("grpc-timeout", GrpcTimeout.Format(remaining));
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        bool copyBody = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        if (copyBody && proxyResponse is not null && !proxyResponse.Headers.Contains(GrpcResponses.StatusHeader))
        {
            // YARP holds the headers until the first body bytes; a gRPC server's early headers must not wait for them.
            await httpContext.Response.StartAsync(cancellationToken).ConfigureAwait(false);
            await httpContext.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return copyBody;
    }
}
