using System.Text;
using Fabric.Abstractions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.Samples.VendorPlugin;

/// <summary>
/// A vendor subprotocol, as a third party would ship it: id 0x2201 in the vendor range, version 1.1 (still talks to
/// 1.0 peers). The handler answers every line with the same line in upper case. With
/// <c>Plugins:Settings:sample.vendor:Service</c> set, the node also hosts a replica of that service; with
/// <c>Listen</c> set, the node takes TCP clients on those addresses and carries each to a replica of <c>Target</c>
/// (default: <c>Service</c>) anywhere in the fabric (<see cref="TcpBridge"/>).
/// </summary>
public sealed class UppercasePlugin : GatewayPlugin
{
    /// <summary>The subprotocol this plugin adds.</summary>
    public static readonly SubprotocolInfo Subprotocol = new(0x2201, "sample.vendor", new Version(1, 1), new Version(1, 0));

    private const int MaxLine = 4096;

    private string? _service;
    private TcpBridge? _bridge;

    /// <inheritdoc/>
    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        fabric.Handle(Subprotocol, ServeAsync);
        if (_service is { Length: > 0 } service)
        {
            fabric.HostService(new FabricServiceInfo(service, fabric.NodeName, [Subprotocol.Id]));
        }

        _bridge?.Start(fabric);

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override void ConfigureServices(Microsoft.Extensions.DependencyInjection.IServiceCollection services, GatewayPluginContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _service = context.Configuration["Service"];
        _bridge = TcpBridge.FromSettings(context.Configuration, $"Plugins:Settings:{context.Manifest.Name}", _service, Subprotocol.Id);
        if (_bridge is { } bridge)
        {
            services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(bridge.Listen);
        }
    }

    /// <inheritdoc/>
    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _bridge?.Stop();
        return Task.CompletedTask;
    }

    /// <summary>Upper-cases line by line; a line longer than 4 KiB resets the stream.</summary>
    public static async Task ServeAsync(FabricIncoming incoming, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        byte[] buffer = new byte[MaxLine];
        int filled = 0;
        while (true)
        {
            int n = await incoming.Stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            filled += n;
            int start = 0;
            int newline;
            while ((newline = Array.IndexOf(buffer, (byte)'\n', start, filled - start)) >= 0)
            {
                string line = Encoding.UTF8.GetString(buffer, start, newline - start);
                await incoming.Stream.WriteAsync(Encoding.UTF8.GetBytes(line.ToUpperInvariant() + "\n"), cancellationToken).ConfigureAwait(false);
                start = newline + 1;
            }

            Array.Copy(buffer, start, buffer, 0, filled - start);
            filled -= start;
            if (filled == buffer.Length)
            {
                incoming.Abort(FabricErrorCodes.Cancel);
                return;
            }
        }
    }
}
