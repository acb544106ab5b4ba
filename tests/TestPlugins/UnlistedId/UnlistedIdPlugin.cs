using Fabric.Abstractions;

namespace Fabric.TestPlugins.UnlistedId;

/// <summary>Handles 0x2F06, which its plugin.json lists, then 0x2F07, which it does not: the second is refused.</summary>
public sealed class UnlistedIdPlugin : GatewayPlugin
{
    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        fabric.Handle(new SubprotocolInfo(0x2F06, "test.listed", new Version(1, 0), new Version(1, 0)), (incoming, ct) => Task.CompletedTask);
        fabric.Handle(new SubprotocolInfo(0x2F07, "test.unlisted", new Version(1, 0), new Version(1, 0)), (incoming, ct) => Task.CompletedTask);
        return Task.CompletedTask;
    }
}
