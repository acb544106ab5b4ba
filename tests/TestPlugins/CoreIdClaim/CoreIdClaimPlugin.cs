using Fabric.Abstractions;

namespace Fabric.TestPlugins.CoreIdClaim;

/// <summary>
/// Lists the core id 0x0100 (the HTTP driver's) in its plugin.json and handles it at start: the fabric refuses that
/// unless the plugin is named in Plugins:Trusted.
/// </summary>
public sealed class CoreIdClaimPlugin : GatewayPlugin
{
    public static readonly SubprotocolInfo Subprotocol = new(0x0100, "test.core-claim", new Version(1, 0), new Version(1, 0));

    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        fabric.Handle(Subprotocol, (incoming, ct) => Task.CompletedTask);
        return Task.CompletedTask;
    }
}
