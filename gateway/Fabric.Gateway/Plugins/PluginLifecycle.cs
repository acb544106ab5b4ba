using Fabric.Core.Nodes;

namespace Fabric.Gateway.Plugins;

/// <summary>Starts the plugins after the fabric node (registered after it) and stops them before it.</summary>
internal sealed class PluginLifecycle(PluginHost plugins, FabricNode node) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => plugins.StartAsync(node, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => plugins.StopAsync(cancellationToken);
}
