using System.Net;
using System.Security.Cryptography.X509Certificates;
using Fabric.Abstractions;
using Fabric.Plugins.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Yarp.ReverseProxy.Forwarder;

namespace Fabric.Plugins.Grpc;

/// <summary>
/// The gRPC driver. Ingress: gRPC (h2c, TLS) and gRPC-Web listeners; each call is routed by its gRPC service to a
/// fabric service and sent to a replica chosen for that call, over HTTP/2 on fabric streams. Egress: fabric streams
/// for the services under <c>Plugins:Settings:grpc:Services</c> go to their backends, whose grpc.health.v1 status
/// becomes the replica's health.
/// </summary>
public sealed class GrpcDriverPlugin : GatewayPlugin, IDisposable
{
    /// <summary>Subprotocol 0x0101: one HTTP/2 (gRPC) connection to a replica's backend per stream.</summary>
    public static readonly SubprotocolInfo Subprotocol = new(0x0101, "grpc", new Version(1, 0), new Version(1, 0));

    private GrpcDriverOptions _options = new();
    private List<(IPEndPoint EndPoint, string Scheme)> _listen = [];
    private ILoggerFactory _loggers = NullLoggerFactory.Instance;
    private ReplicaPool? _pool;
    private BackendHealthMonitor? _monitor;

    /// <inheritdoc/>
    public override void ConfigureServices(IServiceCollection services, GatewayPluginContext context)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(context);
        _options = context.Configuration.Get<GrpcDriverOptions>() ?? new GrpcDriverOptions();
        _loggers = context.Loggers;
        _listen = GrpcDriverValidation.Validate(_options);
        _pool = new ReplicaPool(_options, TimeProvider.System, _loggers.CreateLogger<ReplicaPool>());
        if (_listen.Count == 0)
        {
            return; // egress only
        }

        X509Certificate2? certificate = DriverListeners.LoadCertificate(_listen, _options.CertificatePath, _options.CertificateKeyPath);
        List<(IPEndPoint EndPoint, string Scheme)> listen = _listen;
        int streams = _options.MaxStreamsPerConnection;
        var limit = new ConnectionLimit("gRPC", _options.MaxConnections, _loggers.CreateLogger<GrpcDriverPlugin>(), GrpcMetrics.ConnectionRejected);
        services.Configure<KestrelServerOptions>(kestrel =>
        {
            // Server-wide in Kestrel: raised, never lowered, so other drivers keep at least their own setting.
            kestrel.Limits.Http2.MaxStreamsPerConnection = Math.Max(kestrel.Limits.Http2.MaxStreamsPerConnection, streams);
            DriverListeners.Listen(kestrel, listen, certificate, limit); // http (gRPC-Web), h2c, https
        });
        services.AddHttpForwarder();
    }

    /// <inheritdoc/>
    public override void Configure(WebApplication app, GatewayPluginContext context)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (_listen.Count == 0 || _pool is null)
        {
            return;
        }

        var routes = new GrpcRouteTable(_options.Routes);
        var ingress = new GrpcIngress(
            _options,
            routes,
            _pool,
            new HealthResponder(routes, _pool, app.Lifetime.ApplicationStopping, context?.ListenersStopping ?? CancellationToken.None),
            app.Services.GetRequiredService<IHttpForwarder>(),
            TimeProvider.System,
            _loggers.CreateLogger<GrpcIngress>());
        HashSet<int> ports = [.. _listen.Select(l => l.EndPoint.Port)];

        // Only calls that arrived on this driver's listeners; the rest of the host's pipeline is other drivers'.
        app.MapWhen(http => ports.Contains(http.Connection.LocalPort), branch => branch.Run(ingress.InvokeAsync));
    }

    /// <inheritdoc/>
    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        List<(GrpcBackendOptions Backend, string Instance)> hosted = [.. _options.Services.Select(s => (s, string.IsNullOrWhiteSpace(s.Instance) ? fabric.NodeName : s.Instance))];
        var egress = new GrpcEgress(hosted, TimeSpan.FromSeconds(_options.BackendConnectTimeoutSeconds), _loggers.CreateLogger<GrpcEgress>());
        fabric.Handle(Subprotocol, egress.ServeAsync);
        foreach ((GrpcBackendOptions backend, string instance) in hosted)
        {
            fabric.HostService(new FabricServiceInfo(backend.Name, instance, [Subprotocol.Id], backend.Weight, backend.Priority));
        }

        _pool?.Attach(fabric);
        if (hosted.Count > 0 && _options.HealthCheckSeconds > 0)
        {
            _monitor = new BackendHealthMonitor(fabric, hosted, TimeSpan.FromSeconds(_options.HealthCheckSeconds), _loggers.CreateLogger<BackendHealthMonitor>());
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_monitor is not null)
        {
            await _monitor.DisposeAsync().ConfigureAwait(false);
            _monitor = null;
        }

        // Kestrel has finished the calls in flight by now: closing the replicas' pooled HTTP/2 connections ends their
        // fabric streams, so the node's drain does not wait for idle connections.
        _pool?.Dispose();
    }

    /// <inheritdoc/>
    public void Dispose() => _pool?.Dispose();
}
