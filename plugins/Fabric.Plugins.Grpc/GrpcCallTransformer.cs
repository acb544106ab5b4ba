using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// Request headers for the replica: everything the client sent (YARP drops the hop-by-hop ones), the original
/// :authority, <c>te: trailers</c>, and <c>grpc-timeout</c> rewritten to the time left, so the backend's deadline is
/// never later than the client's.
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
}
