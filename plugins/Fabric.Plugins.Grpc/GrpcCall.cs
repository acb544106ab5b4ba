namespace Fabric.Plugins.Grpc;

/// <summary>What the ingress knows about one call, kept in the request's features for the transformer.</summary>
internal sealed class GrpcCall(string grpcService, string method, string fabricService, long startTimestamp, TimeSpan? timeout, TimeProvider time)
{
    public string GrpcService { get; } = grpcService;

    public string Method { get; } = method;

    public string FabricService { get; } = fabricService;

    /// <summary>The call's timeout from its start, if it has a deadline.</summary>
    public TimeSpan? Timeout { get; } = timeout;

    /// <summary>Time left until the deadline (zero once it passed); null without a deadline.</summary>
    public TimeSpan? Remaining => Timeout is { } timeout ? Max(timeout - time.GetElapsedTime(startTimestamp), TimeSpan.Zero) : null;

    public TimeSpan Elapsed => time.GetElapsedTime(startTimestamp);

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
