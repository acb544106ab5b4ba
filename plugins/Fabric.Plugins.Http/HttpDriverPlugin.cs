using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Fabric.Abstractions;
using Fabric.Plugins.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.ServiceDiscovery;
using Yarp.ReverseProxy.Transforms;

namespace Fabric.Plugins.Http;

/// <summary>
/// The HTTP driver. Ingress: YARP, configured by the standard <c>ReverseProxy</c> section, where a destination
/// <c>fabric://service</c> becomes one destination per replica and each connection is a fabric stream. Egress:
/// streams for the services listed under <c>Plugins:Settings:http:Services</c> go to their backends.
/// </summary>
public sealed class HttpDriverPlugin : GatewayPlugin, IDisposable
{
    /// <summary>Subprotocol 0x0100: HTTP connections over the fabric.</summary>
    public static readonly SubprotocolInfo Subprotocol = new(0x0100, "http", new Version(1, 0), new Version(1, 0));

    private readonly FabricHolder _fabric = new();
    private readonly LiveFabricConnections _connections = new();
    private readonly FabricDestinations _names = new();
    private readonly CancellationTokenSource _stopping = new();
    private HttpDriverOptions _options = new();
    private HashSet<int> _ports = [];
    private ILoggerFactory? _loggers;
    private Task _probes = Task.CompletedTask;

    /// <inheritdoc/>
    public override void ConfigureServices(IServiceCollection services, GatewayPluginContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _options = context.Configuration.Get<HttpDriverOptions>() ?? new HttpDriverOptions();
        _loggers = context.Loggers;
        List<(IPEndPoint EndPoint, string Scheme)> listen = Validate(_options);
        _ports = listen.Select(l => l.EndPoint.Port).ToHashSet();
        X509Certificate2? certificate = DriverListeners.LoadCertificate(listen, _options.CertificatePath, _options.CertificateKeyPath);

        services.AddSingleton(_options);
        services.AddSingleton(_fabric);
        services.AddSingleton(_connections);
        services.AddSingleton(_names);
        var limit = new ConnectionLimit("HTTP", _options.MaxConnections, context.Loggers.CreateLogger<HttpDriverPlugin>(), ProxyMetrics.ConnectionRejected);
        services.Configure<KestrelServerOptions>(kestrel => DriverListeners.Listen(kestrel, listen, certificate, limit));

        services.AddReverseProxy()
            .LoadFromConfig(context.HostConfiguration.GetSection("ReverseProxy"))
            .AddTransforms(transforms =>
            {
                transforms.AddRequestTransform(PinnedRequests.TransformRequestAsync);
                transforms.AddResponseTransform(ConnectionNominatedHeaders.TransformResponseAsync);
            });
        services.Replace(ServiceDescriptor.Singleton<IDestinationResolver, FabricDestinationResolver>());
        services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory, FabricForwarderHttpClientFactory>());

        // HashCookie affinity needs System.IO.Hashing, which is not available here; Cookie and Header affinity remain.
        foreach (ServiceDescriptor hashCookie in services.Where(d => d.ImplementationType?.Name == "HashCookieSessionAffinityPolicy").ToList())
        {
            services.Remove(hashCookie);
        }
    }

    /// <inheritdoc/>
    public override void Configure(WebApplication app, GatewayPluginContext context)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Only requests that arrived on this driver's listeners: other drivers (gRPC, MQTT over WebSocket, ...) and
        // the admin API share the host's pipeline.
        HashSet<int> ports = _ports;
        CancellationToken listenersStopping = context?.ListenersStopping ?? CancellationToken.None;
        app.MapWhen(http => ports.Contains(http.Connection.LocalPort), branch =>
        {
            branch.Use(UpgradedConnections.CloseWhen(listenersStopping));
            branch.UseRouting();
            branch.UseEndpoints(endpoints => endpoints.MapReverseProxy(proxy =>
            {
                proxy.Use(ProxyMetrics.InvokeAsync);
                proxy.Use(ProxyErrorPages.InvokeAsync);
                proxy.Use(RequestSmugglingGuard.InvokeAsync);
                proxy.Use(ConnectionNominatedHeaders.InvokeAsync);
                proxy.Use(PinnedRequests.BeforeAffinityAsync);
                proxy.UseSessionAffinity();
                proxy.Use(PinnedRequests.AfterAffinityAsync);
                proxy.UseLoadBalancing();
                proxy.UsePassiveHealthChecks();
            }));
        });
    }

    /// <inheritdoc/>
    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ILoggerFactory loggers = _loggers ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        var backends = _options.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var egress = new HttpEgress(backends, TimeSpan.FromSeconds(_options.BackendConnectTimeoutSeconds), loggers.CreateLogger<HttpEgress>());
        fabric.Handle(Subprotocol, egress.ServeAsync);
        foreach (HttpBackendOptions service in _options.Services)
        {
            fabric.HostService(new FabricServiceInfo(service.Name, InstanceOf(service, fabric), [Subprotocol.Id], service.Weight, service.Priority));
        }

        _fabric.Set(fabric);
        if (_options.Services.Count > 0 && _options.BackendProbeSeconds > 0)
        {
            _probes = ProbeBackendsAsync(fabric, _stopping.Token);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _probes.ConfigureAwait(false);
        await _connections.CloseAllAsync().ConfigureAwait(false); // Kestrel has drained: what the pool holds is idle
        if (_fabric.Current is { } fabric)
        {
            _fabric.Clear(fabric);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stopping.Dispose();
        _fabric.Dispose();
    }

    private static string InstanceOf(HttpBackendOptions service, IFabric fabric) => string.IsNullOrWhiteSpace(service.Instance) ? fabric.NodeName : service.Instance;

    /// <summary>Marks each hosted replica unhealthy while its backend refuses TCP connections, healthy again when it accepts.</summary>
    private async Task ProbeBackendsAsync(IFabric fabric, CancellationToken stopping)
    {
        var healthy = _options.Services.ToDictionary(s => s.Name, _ => true, StringComparer.Ordinal);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.BackendProbeSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                foreach (HttpBackendOptions service in _options.Services)
                {
                    bool up = await CanConnectAsync(new Uri(service.Backend), stopping).ConfigureAwait(false);
                    if (up != healthy[service.Name])
                    {
                        healthy[service.Name] = up;
                        fabric.SetServiceHealth(service.Name, InstanceOf(service, fabric), up ? FabricServiceHealth.Healthy : FabricServiceHealth.Unhealthy);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<bool> CanConnectAsync(Uri backend, CancellationToken stopping)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(backend.Host, backend.Port, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Checks the settings; throws naming the key, which marks the plugin failed with that message. Drops blank
    /// entries (a Listen address or a Services entry with neither Name nor Backend) from the options.
    /// </summary>
    private static List<(IPEndPoint EndPoint, string Scheme)> Validate(HttpDriverOptions options)
    {
        const string prefix = "Plugins:Settings:http";
        var listen = new List<(IPEndPoint, string)>();
        for (int i = 0; i < options.Listen.Count; i++)
        {
            // A blank entry is no listener (as an empty Fabric:Listen or Gateway:SampleBackendListen is none): the
            // command line and environment can only override list entries by index, not remove them.
            if (string.IsNullOrWhiteSpace(options.Listen[i]))
            {
                continue;
            }

            string text = options.Listen[i].Trim().Replace("localhost", "127.0.0.1", StringComparison.OrdinalIgnoreCase);
            string scheme = "http";
            int separator = text.IndexOf("://", StringComparison.Ordinal);
            if (separator >= 0)
            {
                scheme = text[..separator].ToLowerInvariant();
                text = text[(separator + 3)..].TrimEnd('/');
            }

            if (scheme is not ("http" or "h2c" or "https") || !IPEndPoint.TryParse(text, out IPEndPoint? endPoint) || endPoint.Port == 0)
            {
                throw new ArgumentException($"Configuration error at '{prefix}:Listen:{i}': '{options.Listen[i]}' is not host:port, h2c://host:port or https://host:port");
            }

            if (scheme == "https" && !File.Exists(options.CertificatePath))
            {
                throw new ArgumentException($"Configuration error at '{prefix}:CertificatePath': https listener {options.Listen[i]} needs a PEM certificate file ('{options.CertificatePath}' does not exist)");
            }

            listen.Add((endPoint, scheme));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var services = new List<HttpBackendOptions>();
        for (int i = 0; i < options.Services.Count; i++)
        {
            HttpBackendOptions service = options.Services[i];
            if (string.IsNullOrWhiteSpace(service.Name) && string.IsNullOrWhiteSpace(service.Backend))
            {
                continue; // blank: no service (see Listen above)
            }

            if (string.IsNullOrWhiteSpace(service.Name) || !names.Add(service.Name))
            {
                throw new ArgumentException($"Configuration error at '{prefix}:Services:{i}:Name': a unique, non-empty service name is required");
            }

            if (!Uri.TryCreate(service.Backend, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || uri.Port <= 0)
            {
                throw new ArgumentException($"Configuration error at '{prefix}:Services:{i}:Backend': '{service.Backend}' is not an http:// or https:// URL with a port");
            }

            services.Add(service);
        }

        options.Services = services;

        if (options.MaxRetries is < 0 or > 10)
        {
            throw new ArgumentException($"Configuration error at '{prefix}:MaxRetries': must be 0..10");
        }

        if (double.IsNaN(options.PooledConnectionIdleSeconds) || options.PooledConnectionIdleSeconds is < 0.1 or > 3600)
        {
            throw new ArgumentException($"Configuration error at '{prefix}:PooledConnectionIdleSeconds': '{options.PooledConnectionIdleSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}' is outside 0.1..3600");
        }

        if (options.MaxConnections is < 1 or > 1_000_000)
        {
            throw new ArgumentException($"Configuration error at '{prefix}:MaxConnections': '{options.MaxConnections}' is outside 1..1000000");
        }

        return listen;
    }
}
