using System.Buffers.Binary;
using Fabric.Abstractions;
using Fabric.Plugins.Grpc.Health;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using static Fabric.Plugins.Grpc.Health.HealthCheckResponse.Types;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// grpc.health.v1.Health served by the gateway itself for the gRPC services it exposes: "" is SERVING while the
/// driver runs; a routed gRPC service is SERVING while one of its replicas is healthy, NOT_SERVING otherwise; any
/// other name is NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch). Once the gateway begins to stop
/// (<paramref name="stopping"/>, the start of the shutdown delay) everything it exposes is NOT_SERVING, as gRPC
/// servers do on a graceful shutdown, so health-checking balancers drain it; when its listeners stop
/// (<paramref name="listenersStopping"/>) open Watch calls end with UNAVAILABLE instead of holding the stop.
/// </summary>
internal sealed class HealthResponder(GrpcRouteTable routes, ReplicaPool pool, CancellationToken stopping, CancellationToken listenersStopping)
{
    public const string ServiceName = "grpc.health.v1.Health";
    private const int MaxRequestBytes = 4096;

    public async Task ServeAsync(HttpContext context, string method)
    {
        HealthCheckRequest? request = await ReadRequestAsync(context).ConfigureAwait(false);
        if (request is null)
        {
            await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.InvalidArgument, "malformed grpc.health.v1 request").ConfigureAwait(false);
            return;
        }

        switch (method)
        {
            case "Check":
                ServingStatus? status = Evaluate(request.Service);
                if (status is null)
                {
                    await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.NotFound, $"unknown service {request.Service}").ConfigureAwait(false);
                    return;
                }

                await WriteAsync(context, status.Value).ConfigureAwait(false);
                await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.Ok, null).ConfigureAwait(false);
                return;
            case "Watch":
                await WatchAsync(context, request.Service).ConfigureAwait(false);
                return;
            default:
                await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.Unimplemented, $"unknown method {ServiceName}/{method}").ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The status of a gRPC service as this gateway exposes it; null when it does not expose it.</summary>
    public ServingStatus? Evaluate(string grpcService)
    {
        if (grpcService.Length == 0)
        {
            return pool.IsUp && !stopping.IsCancellationRequested ? ServingStatus.Serving : ServingStatus.NotServing;
        }

        (string fabricService, bool routed) = routes.Resolve(grpcService);
        FabricReplicaInfo[] replicas = pool.ReplicasOf(fabricService);
        if (!routed && replicas.Length == 0)
        {
            return null;
        }

        return replicas.Any(ReplicaPool.Serves) && !stopping.IsCancellationRequested ? ServingStatus.Serving : ServingStatus.NotServing;
    }

    private async Task WatchAsync(HttpContext context, string service)
    {
        var changed = new SemaphoreSlim(0);
        void OnChanged()
        {
            try
            {
                if (changed.CurrentCount == 0)
                {
                    changed.Release();
                }
            }
            catch (ObjectDisposedException)
            {
                // the watch ended while the pool was raising the event
            }
        }

        pool.Changed += OnChanged;
        using CancellationTokenRegistration onStopping = stopping.Register(OnChanged);
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, listenersStopping);
        try
        {
            ServingStatus? last = null;
            CancellationToken aborted = context.RequestAborted;
            while (!ended.IsCancellationRequested)
            {
                ServingStatus current = Evaluate(service) ?? ServingStatus.ServiceUnknown;
                if (current != last)
                {
                    await WriteAsync(context, current).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
                    last = current;
                }

                // Directory changes are signalled; the timeout also catches a change of this node's own state.
                await changed.WaitAsync(TimeSpan.FromSeconds(1), ended.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
            // The client ended the watch, or the listeners stop (below).
        }
        finally
        {
            pool.Changed -= OnChanged;
            changed.Dispose();
        }

        if (!context.RequestAborted.IsCancellationRequested && listenersStopping.IsCancellationRequested)
        {
            await GrpcResponses.EndWithStatusAsync(context, GrpcStatusCode.Unavailable, "the gateway is stopping").ConfigureAwait(false);
        }
    }

    private static async Task WriteAsync(HttpContext context, ServingStatus status)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.ContentType = "application/grpc"; // headers go once; a Watch writes many messages
        }

        byte[] message = new HealthCheckResponse { Status = status }.ToByteArray();
        byte[] frame = new byte[GrpcWire.PrefixLength + message.Length];
        GrpcWire.WritePrefix(frame, compressed: false, message.Length);
        message.CopyTo(frame, GrpcWire.PrefixLength);
        await context.Response.Body.WriteAsync(frame, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Reads the single request message; null when it is missing, compressed, too long or not a HealthCheckRequest.</summary>
    private static async Task<HealthCheckRequest?> ReadRequestAsync(HttpContext context)
    {
        byte[] buffer = new byte[MaxRequestBytes + GrpcWire.PrefixLength];
        int filled = 0;
        int n;
        while (filled < buffer.Length && (n = await context.Request.Body.ReadAsync(buffer.AsMemory(filled), context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            filled += n;
        }

        if (filled < GrpcWire.PrefixLength || buffer[0] != 0)
        {
            return null;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(1));
        if (length != filled - GrpcWire.PrefixLength)
        {
            return null;
        }

        try
        {
            return HealthCheckRequest.Parser.ParseFrom(buffer, GrpcWire.PrefixLength, (int)length);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }
}
