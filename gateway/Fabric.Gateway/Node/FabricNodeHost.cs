using Fabric.Core.Nodes;

namespace Fabric.Gateway.Node;

/// <summary>
/// Starts and stops this process's <see cref="FabricNode"/> with the host. The node's replicas are announced as
/// draining as soon as the host begins to stop (before the listeners and plugins stop), so other nodes move away
/// while this one still serves; the node itself stops last.
/// </summary>
internal sealed class FabricNodeHost(FabricNode node, IHostApplicationLifetime lifetime) : IHostedService
{
    private CancellationTokenRegistration _stopping;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await node.StartAsync(cancellationToken).ConfigureAwait(false);
        _stopping = lifetime.ApplicationStopping.Register(node.BeginDrainNotice);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.DisposeAsync().ConfigureAwait(false);
        await node.StopAsync(cancellationToken).ConfigureAwait(false);
    }
}
