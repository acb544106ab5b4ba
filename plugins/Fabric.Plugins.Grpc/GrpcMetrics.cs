using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Fabric.Plugins.Grpc;

/// <summary>Instruments of the gRPC driver (meter <c>Fabric.Plugins.Grpc</c>).</summary>
internal static class GrpcMetrics
{
    public const string MeterName = "Fabric.Plugins.Grpc";

    private static readonly Meter Meter = new(MeterName, "1.0");

    private static readonly Counter<long> Calls = Meter.CreateCounter<long>("fabric.grpc.calls", "{call}", "gRPC calls through the ingress, by fabric service and final grpc-status (-1: reset)");

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("fabric.grpc.call.duration", "s", "Duration of gRPC calls through the ingress");

    private static readonly Counter<long> Retries = Meter.CreateCounter<long>("fabric.grpc.retries", "{attempt}", "Calls sent to another replica because the first could not be reached");
    private static readonly Counter<long> Rejected = Meter.CreateCounter<long>("fabric.grpc.connections.rejected", "{connection}", "Client connections closed at accept because MaxConnections were open");

    /// <summary>Counts one connection closed at accept (MaxConnections reached).</summary>
    public static void ConnectionRejected() => Rejected.Add(1);

    public static void CallEnded(string service, int status, TimeSpan elapsed)
    {
        var tags = new TagList { { "fabric.service", service }, { "grpc.status", status } };
        Calls.Add(1, tags);
        Duration.Record(elapsed.TotalSeconds, tags);
    }

    public static void Retried(string service) => Retries.Add(1, new KeyValuePair<string, object?>("fabric.service", service));
}
