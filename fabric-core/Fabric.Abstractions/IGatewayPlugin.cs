using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Abstractions;

/// <summary>
/// A gateway plugin: a protocol driver (HTTP, gRPC, MQTT, SMTP) or a vendor subprotocol. The host calls, in order:
/// <see cref="ConfigureServices"/> before the web host is built, <see cref="Configure"/> once it is built,
/// <see cref="StartAsync"/> when the fabric node runs, and <see cref="StopAsync"/> at shutdown. An exception from
/// any of them marks the plugin failed; the host and the other plugins keep running.
/// </summary>
public interface IGatewayPlugin
{
    /// <summary>Registers services and listeners (e.g. Kestrel endpoints with a connection handler).</summary>
    void ConfigureServices(IServiceCollection services, GatewayPluginContext context);

    /// <summary>Adds middleware and endpoints to the host's request pipeline.</summary>
    void Configure(WebApplication app, GatewayPluginContext context);

    /// <summary>The fabric is up: register subprotocol handlers and hosted services.</summary>
    Task StartAsync(IFabric fabric, CancellationToken cancellationToken);

    /// <summary>The host is stopping: finish or cancel work, release resources (statics, timers, handlers) so the plugin can unload.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>A plugin with no-op hooks: override what you need.</summary>
public abstract class GatewayPlugin : IGatewayPlugin
{
    /// <inheritdoc/>
    public virtual void ConfigureServices(IServiceCollection services, GatewayPluginContext context)
    {
    }

    /// <inheritdoc/>
    public virtual void Configure(WebApplication app, GatewayPluginContext context)
    {
    }

    /// <inheritdoc/>
    public virtual Task StartAsync(IFabric fabric, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
