using Fabric.Abstractions;

namespace Fabric.TestPlugins.Leaky;

/// <summary>
/// Subscribes to the host's <see cref="IFabric.ReplicasChanged"/> at start and never unsubscribes: the host's node
/// keeps a delegate to this instance, so the plugin's load context cannot be collected after an unload. What
/// StopAsync exists to prevent.
/// </summary>
public sealed class LeakyPlugin : GatewayPlugin
{
    private int _changes;

    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        fabric.ReplicasChanged += () => Interlocked.Increment(ref _changes);
        return Task.CompletedTask;
    }
}
