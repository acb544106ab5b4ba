using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using Fabric.Abstractions;
using Fabric.Plugins.Grpc.Health;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using static Fabric.Plugins.Grpc.Health.HealthCheckResponse.Types;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// Asks each hosted backend grpc.health.v1 Check every interval and publishes the answer as the replica's health:
/// SERVING → healthy; NOT_SERVING → draining (calls in flight finish, new calls go elsewhere); no answer,
/// SERVICE_UNKNOWN or an error status → unhealthy. A backend without the health service (UNIMPLEMENTED) counts as
/// healthy while it answers.
/// </summary>
internal sealed partial class BackendHealthMonitor : IAsyncDisposable
{
    private readonly IFabric _fabric;
    private readonly IReadOnlyList<(GrpcBackendOptions Backend, string Instance)> _backends;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, HttpMessageInvoker> _clients = new(StringComparer.Ordinal);
    private readonly Task _loop;

    public BackendHealthMonitor(IFabric fabric, IReadOnlyList<(GrpcBackendOptions Backend, string Instance)> backends, TimeSpan interval, ILogger logger)
    {
        _fabric = fabric;
        _backends = backends;
        _interval = interval;
        _logger = logger;
        foreach ((GrpcBackendOptions backend, _) in backends)
        {
            _clients.TryAdd(backend.Backend, new HttpMessageInvoker(new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectTimeout = interval < TimeSpan.FromSeconds(2) ? TimeSpan.FromSeconds(2) : interval,
                SslOptions = new SslClientAuthenticationOptions
                {
                    ApplicationProtocols = [SslApplicationProtocol.Http2],
#pragma warning disable CA5359 // an explicit, per-backend opt-in for self-signed test backends; off by default
                    RemoteCertificateValidationCallback = backend.AcceptAnyCertificate ? (_, _, _, _) => true : null,
#pragma warning restore CA5359
                },
            }));
        }

        _loop = RunAsync(_stopping.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        foreach (HttpMessageInvoker client in _clients.Values)
        {
            client.Dispose();
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var published = new Dictionary<(string, string), FabricServiceHealth>();
        using var timer = new PeriodicTimer(_interval);
        try
        {
            do
            {
                foreach ((GrpcBackendOptions backend, string instance) in _backends)
                {
                    (FabricServiceHealth health, string reason) = await CheckAsync(backend, stopping).ConfigureAwait(false);
                    (string, string) key = (backend.Name, instance);
                    FabricServiceHealth before = published.GetValueOrDefault(key, FabricServiceHealth.Healthy);
                    if (health != before)
                    {
                        Log.HealthChanged(_logger, backend.Name, instance, backend.Backend, health, reason);
                        _fabric.SetServiceHealth(backend.Name, instance, health);
                        published[key] = health;
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task<(FabricServiceHealth Health, string Reason)> CheckAsync(GrpcBackendOptions backend, CancellationToken stopping)
    {
        byte[] message = new HealthCheckRequest { Service = backend.HealthService }.ToByteArray();
        byte[] frame = new byte[GrpcWire.PrefixLength + message.Length];
        GrpcWire.WritePrefix(frame, compressed: false, message.Length);
        message.CopyTo(frame, GrpcWire.PrefixLength);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(backend.Backend), "/grpc.health.v1.Health/Check"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(_interval < TimeSpan.FromSeconds(2) ? TimeSpan.FromSeconds(2) : _interval);
        try
        {
            using HttpResponseMessage response = await _clients[backend.Backend].SendAsync(request, timeout.Token).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            string? status = Header(response.Headers, GrpcResponses.StatusHeader) ?? Header(response.TrailingHeaders, GrpcResponses.StatusHeader);
            if (response.StatusCode != HttpStatusCode.OK || status is null)
            {
                return (FabricServiceHealth.Unhealthy, $"HTTP {(int)response.StatusCode} without a gRPC status");
            }

            int code = int.Parse(status, NumberStyles.None, CultureInfo.InvariantCulture);
            if (code == (int)GrpcStatusCode.Unimplemented)
            {
                return (FabricServiceHealth.Healthy, "the backend does not implement grpc.health.v1 (it answers: counted healthy)");
            }

            if (code != (int)GrpcStatusCode.Ok)
            {
                return (FabricServiceHealth.Unhealthy, $"health check failed with grpc-status {code}");
            }

            if (body.Length < GrpcWire.PrefixLength || BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1)) != body.Length - GrpcWire.PrefixLength)
            {
                return (FabricServiceHealth.Unhealthy, "malformed health check response");
            }

            ServingStatus serving = HealthCheckResponse.Parser.ParseFrom(body, GrpcWire.PrefixLength, body.Length - GrpcWire.PrefixLength).Status;
            return serving switch
            {
                ServingStatus.Serving => (FabricServiceHealth.Healthy, "SERVING"),
                ServingStatus.NotServing => (FabricServiceHealth.Draining, "NOT_SERVING"),
                _ => (FabricServiceHealth.Unhealthy, serving.ToString()),
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or InvalidProtocolBufferException or FormatException or OverflowException)
        {
            if (stopping.IsCancellationRequested)
            {
                throw;
            }

            return (FabricServiceHealth.Unhealthy, ex.Message);
        }
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    private static partial class Log
    {
        [LoggerMessage(EventId = 5320, Level = LogLevel.Information, Message = "gRPC replica {Service}/{Instance} ({Backend}) is now {Health}: {Reason}")]
        public static partial void HealthChanged(ILogger logger, string service, string instance, string backend, FabricServiceHealth health, string reason);
    }
}
