using System.Net.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// One gRPC call through the ingress: route by gRPC service, pick a replica for this call, forward it over HTTP/2
/// on a fabric stream, and end every failure with a gRPC status (never an HTTP error page): UNIMPLEMENTED for an
/// unknown service, UNAVAILABLE when no replica can take it or its replica is lost mid-call, DEADLINE_EXCEEDED,
/// RESOURCE_EXHAUSTED at the message and concurrency limits. A call that reached no replica before any of it was
/// sent is tried on another one.
/// </summary>
internal sealed partial class GrpcIngress(
    GrpcDriverOptions options,
    GrpcRouteTable routes,
    ReplicaPool pool,
    HealthResponder health,
    IHttpForwarder forwarder,
    TimeProvider time,
    ILogger logger)
{
    private const int Http2Cancel = 0x8;

    private readonly ForwarderRequestConfig _requestConfig = new()
    {
        Version = System.Net.HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        ActivityTimeout = TimeSpan.FromSeconds(options.IdleTimeoutSeconds),
        AllowResponseBuffering = false,
    };

    private int _calls;

    public async Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            GrpcWebCors.Preflight(context, options.GrpcWebAllowedOrigins);
            return;
        }

        string? contentType = context.Request.ContentType;
        bool web = GrpcWire.IsGrpcWeb(contentType) || GrpcWire.IsGrpcWebText(contentType);
        if (!web && !GrpcWire.IsGrpc(contentType))
        {
            // Not gRPC: plain HTTP answers, as the gRPC spec asks (415 for the wrong content type).
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await context.Response.WriteAsync("this listener takes gRPC (application/grpc) and gRPC-Web (application/grpc-web, application/grpc-web-text) calls\n").ConfigureAwait(false);
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "POST";
            return;
        }

        if (!web && context.Request.Protocol != "HTTP/2" && context.Request.Protocol != "HTTP/3")
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsync("gRPC needs HTTP/2\n").ConfigureAwait(false);
            return;
        }

        GrpcWebBridge? bridge = null;
        if (web)
        {
            GrpcWebCors.Apply(context, options.GrpcWebAllowedOrigins);
            bridge = GrpcWebBridge.Attach(context);
        }

        long start = time.GetTimestamp();
        string service = "";
        try
        {
            service = await HandleCallAsync(context, start).ConfigureAwait(false);
        }
        finally
        {
            if (bridge is not null)
            {
                await bridge.CompleteAsync().ConfigureAwait(false);
            }

            GrpcMetrics.CallEnded(service, GrpcResponses.StatusOf(context), time.GetElapsedTime(start));
        }
    }

    /// <summary>Serves or forwards the call; returns the fabric service it was for ("" when none).</summary>
    private async Task<string> HandleCallAsync(HttpContext context, long start)
    {
        if (!GrpcWire.TryParsePath(context.Request.Path.Value, out string grpcService, out string method))
        {
            await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.Unimplemented, $"'{context.Request.Path}' is not a gRPC method path (/package.Service/Method)").ConfigureAwait(false);
            return "";
        }

        if (grpcService == HealthResponder.ServiceName && !routes.HasExactRoute(grpcService))
        {
            await health.ServeAsync(context, method).ConfigureAwait(false);
            return "";
        }

        (string fabricService, bool routed) = routes.Resolve(grpcService);
        if (!TryDeadline(context, out TimeSpan? timeout, out string? deadlineError))
        {
            await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.Internal, deadlineError).ConfigureAwait(false);
            return fabricService;
        }

        if (Interlocked.Increment(ref _calls) > options.MaxConcurrentCalls)
        {
            Interlocked.Decrement(ref _calls);
            await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.ResourceExhausted, $"the gateway carries its limit of {options.MaxConcurrentCalls} calls").ConfigureAwait(false);
            return fabricService;
        }

        try
        {
            var call = new GrpcCall(grpcService, method, fabricService, start, timeout, time);
            context.Features.Set(call);
            await ForwardAsync(context, call, routed).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _calls);
        }

        return fabricService;
    }

    private async Task ForwardAsync(HttpContext context, GrpcCall call, bool routed)
    {
        var body = new MessageLimitStream(context.Request.Body, options.MaxMessageBytes);
        context.Request.Body = body;
        CallResetGuard guard = CallResetGuard.Install(context);
        using var deadline = new CancellationTokenSource(call.Remaining ?? Timeout.InfiniteTimeSpan, time);
        HashSet<string>? tried = null;
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                ReplicaClient? replica = pool.Pick(call.FabricService, tried);
                if (replica is null)
                {
                    bool known = pool.ReplicasOf(call.FabricService).Length > 0;
                    (GrpcStatusCode code, string message) = !known && !routed
                        ? (GrpcStatusCode.Unimplemented, $"unknown service {call.GrpcService}")
                        : (GrpcStatusCode.Unavailable, tried is null ? $"no healthy replica of {call.FabricService}" : $"no replica of {call.FabricService} could be reached");
                    await GrpcResponses.EndWithStatusAsync(context, code, message).ConfigureAwait(false);
                    return;
                }

                ForwarderError error;
                replica.Begin();
                try
                {
                    error = await forwarder.SendAsync(context, replica.Prefix, replica.Invoker, _requestConfig, GrpcCallTransformer.Instance, deadline.Token).ConfigureAwait(false);
                }
                finally
                {
                    replica.End();
                }

                if (error == ForwarderError.None || (error is ForwarderError.RequestBodyClient or ForwarderError.RequestBodyDestination or ForwarderError.RequestBodyCanceled
                    && !guard.Held && body.Exceeded == 0 && GrpcResponses.StatusOf(context) >= 0))
                {
                    // The second case: the replica answered the whole call, status included, then reset its stream with
                    // NO_ERROR while the client was still sending (HTTP/2 allows it), which cut the request copy short.
                    return;
                }

                if (error is ForwarderError.Request && body.BytesRead == 0 && !context.Response.HasStarted && !guard.Held
                    && !context.RequestAborted.IsCancellationRequested && !deadline.IsCancellationRequested && attempt < options.MaxRetries)
                {
                    // Nothing of the call left the gateway: safe on another replica.
                    string reason = Reason(context);
                    Log.Retrying(logger, call.FabricService, replica.Key, reason);
                    pool.Eject(replica);
                    (tried ??= new HashSet<string>(StringComparer.Ordinal)).Add(replica.Key);
                    context.Response.Clear();
                    context.Features.Set<IForwarderErrorFeature>(null);
                    GrpcMetrics.Retried(call.FabricService);
                    continue;
                }

                await EndFailedCallAsync(context, call, replica, error, body, guard, deadline).ConfigureAwait(false);
                return;
            }
        }
        finally
        {
            guard.Release(); // anything still held goes out as the forwarder meant it
        }
    }

    private async Task EndFailedCallAsync(HttpContext context, GrpcCall call, ReplicaClient replica, ForwarderError error, MessageLimitStream body, CallResetGuard guard, CancellationTokenSource deadline)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return; // the client cancelled: the forwarder already cancelled the call at the replica
        }

        Exception? exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        GrpcStatusCode code;
        string message;
        if (body.Exceeded > 0)
        {
            code = GrpcStatusCode.ResourceExhausted;
            message = $"request message of {body.Exceeded} bytes is larger than the limit of {options.MaxMessageBytes} bytes";
        }
        else if (deadline.IsCancellationRequested)
        {
            code = GrpcStatusCode.DeadlineExceeded;
            message = $"deadline exceeded after {call.Elapsed.TotalMilliseconds:F0} ms";
        }
        else if (ResetByReplica(exception) is int http2Code && context.Response.HasStarted)
        {
            // The backend reset its stream (e.g. it cancelled the call): the client gets the same reset.
            guard.ResetNow(http2Code);
            return;
        }
        else
        {
            code = error is ForwarderError.RequestCreation or ForwarderError.ResponseHeaders ? GrpcStatusCode.Internal : GrpcStatusCode.Unavailable;
            message = $"replica {replica.Key} of {call.FabricService}: {error}: {Reason(context)}";
        }

        Log.CallFailed(logger, call.GrpcService, call.Method, replica.Key, code, message);
        guard.Discard();
        if (!await GrpcResponses.EndWithStatusAsync(context, code, message).ConfigureAwait(false))
        {
            guard.ResetNow(Http2Cancel);
        }
    }

    /// <summary>The HTTP/2 error code the replica reset its stream with, if that is what ended the call.</summary>
    private static int? ResetByReplica(Exception? exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException { ErrorCode: var code })
            {
                return (int)code;
            }

            if (e is AggregateException aggregate)
            {
                foreach (Exception inner in aggregate.InnerExceptions)
                {
                    if (ResetByReplica(inner) is int found)
                    {
                        return found;
                    }
                }
            }
        }

        return null;
    }

    private static string Reason(HttpContext context)
    {
        Exception? exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        while (exception?.InnerException is not null && exception is HttpRequestException or AggregateException)
        {
            exception = exception.InnerException;
        }

        return exception?.Message ?? "no detail";
    }

    /// <summary>The call's timeout: its grpc-timeout, else the default; capped by the maximum.</summary>
    private bool TryDeadline(HttpContext context, out TimeSpan? timeout, out string? error)
    {
        timeout = null;
        error = null;
        string? header = context.Request.Headers["grpc-timeout"];
        if (!string.IsNullOrEmpty(header))
        {
            if (!GrpcTimeout.TryParse(header, out TimeSpan parsed))
            {
                error = $"malformed grpc-timeout '{header}'";
                return false;
            }

            timeout = parsed;
        }
        else if (options.DefaultDeadlineSeconds > 0)
        {
            timeout = TimeSpan.FromSeconds(options.DefaultDeadlineSeconds);
        }

        if (options.MaxDeadlineSeconds > 0 && (timeout is null || timeout > TimeSpan.FromSeconds(options.MaxDeadlineSeconds)))
        {
            timeout = TimeSpan.FromSeconds(options.MaxDeadlineSeconds);
        }

        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "gRPC call to {Service} not sent to replica {Replica} ({Reason}); trying another")]
        public static partial void Retrying(ILogger logger, string service, string replica, string reason);

        [LoggerMessage(EventId = 5303, Level = LogLevel.Information, Message = "gRPC call {GrpcService}/{Method} via replica {Replica} ended with {Code}: {Message}")]
        public static partial void CallFailed(ILogger logger, string grpcService, string method, string replica, GrpcStatusCode code, string message);
    }
}
