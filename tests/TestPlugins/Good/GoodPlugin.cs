using Fabric.Abstractions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Fabric.TestPlugins.Good;

/// <summary>
/// A well-behaved plugin. Handles vendor subprotocol 0x2F01 (echo), hosts a replica of a service
/// (<c>Plugins:Settings:good:Service</c>, "good-svc" by default), keeps a timer and a <see cref="IFabric.ReplicasChanged"/>
/// subscription while it runs, and releases all of it in <see cref="StopAsync"/> so that it can unload. Each start and
/// stop appends a line ("start", "stop") to <c>Plugins:Settings:good:CounterFile</c> when set: the tests count calls
/// without sharing a type with the plugin.
/// </summary>
public sealed class GoodPlugin : GatewayPlugin
{
    public static readonly SubprotocolInfo Subprotocol = new(0x2F01, "test.good", new Version(1, 0), new Version(1, 0));

    private string? _counterFile;
    private string _service = "good-svc";
    private IFabric? _fabric;
    private IDisposable? _handler;
    private IDisposable? _hosted;
    private Timer? _timer;
    private int _ticks;
    private int _changes;

    public override void ConfigureServices(IServiceCollection services, GatewayPluginContext context)
    {
        _counterFile = context.Configuration["CounterFile"];
        if (context.Configuration["Service"] is { Length: > 0 } service)
        {
            _service = service;
        }
    }

    public override Task StartAsync(IFabric fabric, CancellationToken cancellationToken)
    {
        _fabric = fabric;
        _handler = fabric.Handle(Subprotocol, EchoAsync);
        _hosted = fabric.HostService(new FabricServiceInfo(_service, fabric.NodeName, [Subprotocol.Id]));
        fabric.ReplicasChanged += OnReplicasChanged;
        _timer = new Timer(_ => Interlocked.Increment(ref _ticks), null, 100, 100);
        Count("start");
        return Task.CompletedTask;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_fabric is not null)
        {
            _fabric.ReplicasChanged -= OnReplicasChanged;
        }

        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }

        _hosted?.Dispose();
        _handler?.Dispose();
        (_fabric, _timer, _hosted, _handler) = (null, null, null, null);
        Count("stop");
    }

    private static async Task EchoAsync(FabricIncoming incoming, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[4096];
        int n;
        while ((n = await incoming.Stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await incoming.Stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            await incoming.Stream.FlushAsync(cancellationToken);
        }

        incoming.CompleteWrites();
    }

    private void OnReplicasChanged() => Interlocked.Increment(ref _changes);

    private void Count(string what)
    {
        if (_counterFile is { Length: > 0 } file)
        {
            lock (this)
            {
                File.AppendAllText(file, what + "\n");
            }
        }
    }
}
