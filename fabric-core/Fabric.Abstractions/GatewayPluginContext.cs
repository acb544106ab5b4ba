using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Fabric.Abstractions;

/// <summary>What the host tells a plugin about itself and its surroundings.</summary>
public sealed class GatewayPluginContext(PluginManifest manifest, string directory, IConfiguration configuration, IConfiguration hostConfiguration, ILoggerFactory loggers, CancellationToken listenersStopping = default)
{
    /// <summary>The plugin's manifest (plugin.json).</summary>
    public PluginManifest Manifest { get; } = manifest;

    /// <summary>The folder the plugin was loaded from.</summary>
    public string Directory { get; } = directory;

    /// <summary>The plugin's own configuration section: <c>Plugins:Settings:&lt;name&gt;</c>.</summary>
    public IConfiguration Configuration { get; } = configuration;

    /// <summary>The whole host configuration (a driver may read a standard section, e.g. <c>ReverseProxy</c>).</summary>
    public IConfiguration HostConfiguration { get; } = hostConfiguration;

    /// <summary>Loggers; categories should start with the plugin's name.</summary>
    public ILoggerFactory Loggers { get; } = loggers;

    /// <summary>
    /// Cancelled when the gateway is stopping and its listeners are about to stop: after <c>Gateway:ShutdownDelaySeconds</c>
    /// (during which everything still serves), just before Kestrel closes its connections. Connections that never end
    /// on their own (an upgraded WebSocket, a raw protocol session) should be closed here, or the stop waits for them
    /// until the host's stop budget runs out. Contract 1.1.
    /// </summary>
    public CancellationToken ListenersStopping { get; } = listenersStopping;
}
