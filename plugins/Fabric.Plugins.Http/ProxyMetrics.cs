using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Model;

namespace Fabric.Plugins.Http;

/// <summary>Meter <c>Fabric.Plugins.Http</c>: proxied requests by status code and cluster, their duration, and connections refused at the cap.</summary>
internal static class ProxyMetrics
{
    public const string MeterName = "Fabric.Plugins.Http";

    private static readonly Meter Meter = new(MeterName, "1.0");
    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("fabric.http.requests", "{request}", "Requests the reverse proxy answered, by status code and cluster.");
    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("fabric.http.request.duration", "s", "Time from request to the end of the proxy's answer.");
    private static readonly Counter<long> Rejected = Meter.CreateCounter<long>("fabric.http.connections.rejected", "{connection}", "Client connections closed at accept because MaxConnections were open.");

    /// <summary>Counts one connection closed at accept (MaxConnections reached).</summary>
    public static void ConnectionRejected() => Rejected.Add(1);

    public static async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await next().ConfigureAwait(false);
        }
        finally
        {
            if (Requests.Enabled || Duration.Enabled)
            {
                string cluster = context.Features.Get<IReverseProxyFeature>()?.Cluster?.Config.ClusterId ?? "none";
                var tags = new TagList { { "http.response.status_code", context.Response.StatusCode }, { "fabric.cluster", cluster } };
                Requests.Add(1, tags);
                Duration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds, tags);
            }
        }
    }
}
