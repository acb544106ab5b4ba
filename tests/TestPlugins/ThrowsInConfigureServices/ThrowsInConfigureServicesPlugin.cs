using Fabric.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Fabric.TestPlugins.ThrowsInConfigureServices;

/// <summary>
/// Registers a hosted service and a singleton, then throws from ConfigureServices. If those registrations stayed in
/// the host's container, the host would run code of a failed plugin, and <see cref="PoisonHostedService"/> would stop
/// the whole gateway from starting.
/// </summary>
public sealed class ThrowsInConfigureServicesPlugin : GatewayPlugin
{
    public override void ConfigureServices(IServiceCollection services, GatewayPluginContext context)
    {
        services.AddSingleton<IHostedService, PoisonHostedService>();
        services.AddSingleton(new PoisonMarker());
        throw new InvalidOperationException("boom in ConfigureServices");
    }
}

public sealed class PoisonMarker;

public sealed class PoisonHostedService : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("a failed plugin's hosted service ran");

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
