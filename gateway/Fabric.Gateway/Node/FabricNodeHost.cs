using Fabric.Core.Nodes;

namespace Fabric.Gateway.Node;

/// <summary>Starts and stops this process's <see cref="FabricNode"/> with the host.</summary>
internal sealed class FabricNodeHost(FabricNode node) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => node.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => node.StopAsync(cancellationToken);
}
