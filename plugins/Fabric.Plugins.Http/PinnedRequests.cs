using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;

namespace Fabric.Plugins.Http;

/// <summary>
/// Keeps <see cref="FabricRetryHandler"/> from moving a request that session affinity pinned to one replica when the
/// cluster's <c>AffinityFailurePolicy</c> is <c>Return503Error</c>: such a cluster says a client's session must never
/// be served by another replica. Without this, a pinned request whose replica had just died (still listed until the
/// directory drops it) was retried on another replica and answered 200 from there. Now it fails (502) until the
/// replica leaves the directory, and YARP's failure policy answers 503 from then on. Redistribute clusters, and
/// requests without an affinity key, are retried as before.
/// </summary>
internal static class PinnedRequests
{
    /// <summary>Set on the outgoing request: do not retry it on another replica.</summary>
    public static readonly HttpRequestOptionsKey<bool> NoRetry = new("Fabric.Http.NoRetryOnOtherReplica");

    private static readonly object DestinationsBeforeAffinity = new();
    private static readonly object Pinned = new();

    /// <summary>Before YARP's affinity step: remembers the destinations it starts from.</summary>
    public static Task BeforeAffinityAsync(HttpContext context, Func<Task> next)
    {
        if (context.Features.Get<IReverseProxyFeature>() is { } proxy)
        {
            context.Items[DestinationsBeforeAffinity] = proxy.AvailableDestinations;
        }

        return next();
    }

    /// <summary>After it: affinity found the client's destination when it replaced the list (AffinityStatus.OK).</summary>
    public static Task AfterAffinityAsync(HttpContext context, Func<Task> next)
    {
        if (context.Features.Get<IReverseProxyFeature>() is { } proxy
            && proxy.Cluster.Config.SessionAffinity is { Enabled: true } affinity
            && string.Equals(affinity.FailurePolicy, "Return503Error", StringComparison.OrdinalIgnoreCase)
            && context.Items.TryGetValue(DestinationsBeforeAffinity, out object? before)
            && !ReferenceEquals(before, proxy.AvailableDestinations))
        {
            context.Items[Pinned] = Pinned;
        }

        return next();
    }

    /// <summary>Request transform: marks the outgoing request of a pinned client.</summary>
    public static ValueTask TransformRequestAsync(RequestTransformContext context)
    {
        if (context.HttpContext.Items.ContainsKey(Pinned))
        {
            context.ProxyRequest.Options.Set(NoRetry, true);
        }

        return ValueTask.CompletedTask;
    }
}
