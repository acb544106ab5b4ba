using System.Net;
using Fabric.Abstractions;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;

namespace Fabric.Gateway.Plugins;

/// <summary>
/// What one plugin sees of the node: the <see cref="IFabric"/> contract over <see cref="FabricNode"/>. It holds the
/// plugin to the subprotocol ids its manifest lists (and to the vendor/experimental ranges unless the plugin is a
/// trusted driver), and remembers every registration so that stopping the plugin undoes them.
/// </summary>
internal sealed class FabricFacade(FabricNode node, LoadedPlugin plugin, bool trusted) : IFabric
{
    public string NodeName => node.Options.Name;

    public string NodeId => node.Identity.Id.ToString();

    public event Action? ReplicasChanged
    {
        add => node.DirectoryChanged += value;
        remove => node.DirectoryChanged -= value;
    }

    public async Task<FabricConnection> OpenAsync(string service, ushort subprotocol, FabricOpenOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new FabricOpenOptions();
        RoutingPolicy? policy = null;
        if (options.Policy is { } name)
        {
            policy = Enum.TryParse(name, ignoreCase: true, out RoutingPolicy parsed) ? parsed : throw new ArgumentException($"unknown routing policy '{name}'", nameof(options));
        }

        try
        {
            RoutedStream stream = await node.OpenServiceStreamAsync(service, subprotocol, new Fabric.Core.Routing.RouteOptions
            {
                Policy = policy,
                TrafficClass = (TrafficClass)(int)options.TrafficClass,
                Source = options.Source,
                Only = options.Replica,
                Exclude = options.Exclude,
            }, cancellationToken).ConfigureAwait(false);
            return new Connection(stream);
        }
        catch (FabricRouteException ex)
        {
            throw new FabricOpenException((int)ex.Code, ex.Message, ex);
        }
    }

    public IDisposable Handle(SubprotocolInfo subprotocol, Func<FabricIncoming, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(subprotocol);
        ArgumentNullException.ThrowIfNull(handler);
        if (!plugin.AllowedSubprotocols.Contains(subprotocol.Id))
        {
            throw new InvalidOperationException($"plugin '{plugin.Name}' may not handle subprotocol 0x{subprotocol.Id:x4}: its plugin.json does not list it");
        }

        bool core = SubprotocolDescriptor.RangeOf(subprotocol.Id) == SubprotocolRange.Core;
        if (core && !trusted)
        {
            throw new InvalidOperationException($"plugin '{plugin.Name}' may not handle core subprotocol 0x{subprotocol.Id:x4}: only the trusted drivers (Plugins:Trusted) may; vendor plugins use 0x2200-0xEFFF (or 0xF000-0xFFFF for experiments)");
        }

        ThrowIfClosed();
        var descriptor = new SubprotocolDescriptor(subprotocol.Id, subprotocol.Name, ToVersion(subprotocol.Version), ToVersion(subprotocol.MinCompatible));
        node.RegisterHandler(descriptor, (context, ct) => handler(new Incoming(context), ct), core);
        return Remember(new Registration(() => node.UnregisterHandler(subprotocol.Id)));
    }

    public IDisposable HostService(FabricServiceInfo service)
    {
        ArgumentNullException.ThrowIfNull(service);
        ThrowIfClosed();
        node.AddLocalService(new ServiceReplica(service.Service, service.Instance, service.Subprotocols, checked((ushort)service.Weight), checked((byte)service.Priority)));
        return Remember(new Registration(() => node.RemoveLocalService(service.Service, service.Instance)));
    }

    public void SetServiceHealth(string service, string instance, FabricServiceHealth health)
        => node.SetLocalServiceHealth(service, instance, (ReplicaHealth)(int)health);

    public IReadOnlyList<FabricReplicaInfo> FindReplicas(string service, ushort subprotocol)
        => [.. node.Directory.FindReplicas(service, subprotocol).Select(ToInfo)];

    internal static FabricReplicaInfo ToInfo(ReplicaRoute r) => new(
        r.Key, r.Replica.Service, r.Replica.Instance, r.OriginName, r.Hops, r.Rtt, r.Pressure, r.Replica.Weight, r.Replica.Priority, (FabricServiceHealth)(int)r.Replica.Health, r.IsLocal);

    /// <summary>Keeps a registration for the plugin's stop; one made while the plugin was failing or stopping is undone at once.</summary>
    private Registration Remember(Registration registration)
    {
        if (!plugin.TryAddRegistration(registration))
        {
            registration.Dispose();
            ThrowIfClosed();
        }

        return registration;
    }

    private void ThrowIfClosed()
    {
        if (plugin.RegistrationsClosed)
        {
            throw new InvalidOperationException($"plugin '{plugin.Name}' is {plugin.State.ToString().ToLowerInvariant()}: it may not register handlers or services any more");
        }
    }

    private static SubprotocolVersion ToVersion(Version version)
        => new(checked((byte)version.Major), checked((byte)Math.Max(0, version.Minor)));

    private sealed class Connection(RoutedStream stream) : FabricConnection
    {
        public override Stream Stream => stream;

        public override FabricReplicaInfo Replica { get; } = ToInfo(stream.Route);

        public override bool Relayed => stream.Relayed;

        public override void Abort(int code) => stream.Abort((FabricErrorCode)code);

        public override void CompleteWrites() => stream.CompleteWrites();

        public override ValueTask DisposeAsync() => stream.DisposeAsync();
    }

    private sealed class Incoming(FabricStreamContext context) : FabricIncoming
    {
        public override Stream Stream => context.Stream;

        public override string Service => context.Service;

        public override string Instance => context.Instance;

        public override ushort Subprotocol => context.Subprotocol;

        public override IPEndPoint? Source => context.Source;

        public override string OriginNodeId => context.Origin.ToString();

        public override string? OriginNodeName => context.OriginName;

        public override bool Relayed => context.Relayed;

        public override void Abort(int code) => context.Abort((FabricErrorCode)code);

        public override void CompleteWrites() => context.CompleteWrites();
    }

    private sealed class Registration(Action undo) : IDisposable
    {
        private Action? _undo = undo;

        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }
}
