using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Fabric.Plugins.Http;

/// <summary>
/// Gives the proxy's own failures a body that says what happened, instead of YARP's empty 502/503/504: which cluster,
/// and why (no replica, connection failed, timed out). Never touches a response the backend started.
/// </summary>
internal static class ProxyErrorPages
{
    public static async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        await next().ConfigureAwait(false);
        if (context.Response.HasStarted || context.Response.StatusCode < 500)
        {
            return;
        }

        IForwarderErrorFeature? error = context.Features.Get<IForwarderErrorFeature>();
        IReverseProxyFeature? proxy = context.Features.Get<IReverseProxyFeature>();
        string cluster = proxy?.Cluster?.Config.ClusterId ?? "?";
        string? message = context.Response.StatusCode switch
        {
            // YARP's Return503Error affinity policy: the client's replica is gone while others are there.
            StatusCodes.Status503ServiceUnavailable when error is null && proxy?.Cluster?.Config.SessionAffinity is { Enabled: true } && proxy.AvailableDestinations.Count > 0
                => $"503 Service Unavailable: the replica this client is pinned to (session affinity) is gone, and cluster '{cluster}' does not move pinned clients to another replica (AffinityFailurePolicy {proxy.Cluster.Config.SessionAffinity.FailurePolicy ?? "Redistribute"}).",
            StatusCodes.Status503ServiceUnavailable when error is null => $"503 Service Unavailable: no healthy replica of cluster '{cluster}' is known to the fabric.",
            StatusCodes.Status504GatewayTimeout => $"504 Gateway Timeout: the replica of cluster '{cluster}' did not answer in time ({error?.Error}).",
            StatusCodes.Status502BadGateway => $"502 Bad Gateway: no replica of cluster '{cluster}' could be reached ({error?.Error}: {Innermost(error?.Exception)}).",
            _ when error is not null => $"{context.Response.StatusCode}: the proxy could not forward to cluster '{cluster}' ({error.Error}).",
            _ => null,
        };

        if (message is not null)
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(message + "\n").ConfigureAwait(false);
        }
    }

    private static string Innermost(Exception? ex)
    {
        while (ex?.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex?.Message ?? "unknown";
    }
}
