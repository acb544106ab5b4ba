using Fabric.Abstractions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.TestPlugins.ThrowsAtStart;

/// <summary>
/// Registers subprotocol 0x2F02 and hosts "throws-svc", then throws from StartAsync (synchronously, not in a task).
/// <c>Plugins:Settings:throws-at-start:Stage</c> moves the throw: "Configure" (the pipeline) or "Stop" (StopAsync,
/// asynchronously, after starting cleanly).
/// </summary>
public sealed class ThrowsAtStartPlugin : GatewayPlugin
{
    public static readonly SubprotocolInfo Subprotocol = new(0x2F02, "test.throws", new Version(1, 0), new Version(1, 0));

    private string _stage = "Start";

    public override void ConfigureServices(IServiceCollection services, GatewayPluginContext context)
        => _stage = context.Configuration["Stage"] is { Length: > 0 } stage ? stage : _stage;

    public override void Configure(WebApplication app, GatewayPluginContext context)
    {
        if (_stage == "Configure")
        {
            throw new InvalidOperationException("boom in Configure");
        }
    }

    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        fabric.Handle(Subprotocol, (incoming, ct) => Task.CompletedTask);
        fabric.HostService(new FabricServiceInfo("throws-svc", fabric.NodeName, [Subprotocol.Id]));
        if (_stage == "Start")
        {
            throw new InvalidOperationException("boom at start");
        }

        return Task.CompletedTask;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (_stage == "Stop")
        {
            throw new InvalidOperationException("boom at stop");
        }
    }
}
