using System.Net;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

/// <summary>Fabric nodes in this process, linked over loopback TCP as a test describes; disposed together.</summary>
internal sealed class NodeCluster : IAsyncDisposable
{
    /// <summary>A vendor subprotocol id the tests register as a byte echo.</summary>
    public const ushort Vendor = 0x2201;

    private readonly List<FabricNode> _nodes = [];
    private readonly Dictionary<string, NodeIdentity> _identities = [];
    private readonly List<IAsyncDisposable> _extras = [];

    public FabricNode this[string name] => _nodes.Single(n => n.Options.Name == name);

    /// <summary>Creates identities for <paramref name="names"/>; every node trusts every other.</summary>
    public NodeCluster(params string[] names)
    {
        foreach (string name in names)
        {
            _identities[name] = NodeIdentity.Generate();
        }
    }

    public NodeIdentity Identity(string name) => _identities[name];

    public FabricTrust Trust => new(pinnedPublicKeys: [.. _identities.Values.Select(i => i.PublicKey)]);

    /// <summary>The address and key to dial <paramref name="name"/> (optionally through another address, e.g. a forwarder).</summary>
    public PeerEndpoint PeerOf(string name, EndPoint? via = null) => new(via ?? this[name].ListenEndPoint!, _identities[name].PublicKey);

    /// <summary>Starts <paramref name="name"/> listening on a free port, dialing the already-started <paramref name="dials"/>.</summary>
    public async Task<FabricNode> StartAsync(string name, string[]? dials = null, Func<FabricNodeOptions, FabricNodeOptions>? configure = null)
    {
        var peers = (dials ?? []).Select(d => PeerOf(d)).ToList();
        var options = new FabricNodeOptions
        {
            Name = name,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Peers = peers,
            ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        };
        options = configure?.Invoke(options) ?? options;
        var node = new FabricNode(_identities[name], Trust, options);
        _nodes.Add(node);
        await node.StartAsync().WaitAsync(TestTimeouts.Short);
        return node;
    }

    /// <summary>Stops and disposes one node (its links go down with GOAWAY); the cluster forgets it.</summary>
    public async Task StopAsync(string name)
    {
        FabricNode node = this[name];
        _nodes.Remove(node);
        await node.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
    }

    /// <summary>Something else the test started (forwarders, fake neighbors), disposed with the cluster, before the nodes.</summary>
    public T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _extras.Add(disposable);
        return disposable;
    }

    /// <summary>Waits until every node named sees a link to every other one named after it (in either direction).</summary>
    public Task LinkedAsync(string a, string b, TimeSpan? timeout = null)
        => Eventually.TrueAsync(
            () => this[a].Connections.Any(c => c.PeerId == _identities[b].Id) && this[b].Connections.Any(c => c.PeerId == _identities[a].Id),
            $"{a} and {b} are linked",
            timeout ?? TestTimeouts.Long);

    /// <summary>Waits until <paramref name="at"/> knows <paramref name="count"/> replicas of <paramref name="service"/> speaking <paramref name="subprotocol"/>.</summary>
    public Task ReplicasAsync(string at, string service, ushort subprotocol, int count, TimeSpan? timeout = null)
        => Eventually.TrueAsync(
            () => this[at].Directory.FindReplicas(service, subprotocol).Count == count,
            $"{at} knows {count} replica(s) of {service}",
            timeout ?? TestTimeouts.Long);

    /// <summary>Registers the vendor subprotocol on <paramref name="node"/> as a byte echo.</summary>
    public static void RegisterVendorEcho(FabricNode node, SubprotocolVersion? version = null, SubprotocolVersion? minCompatible = null)
    {
        var v = version ?? new SubprotocolVersion(1, 0);
        node.RegisterHandler(new SubprotocolDescriptor(Vendor, "test.vendor-echo", v, minCompatible ?? v), (context, ct) => context.Stream.CopyToAsync(context.Stream, ct));
    }

    /// <summary>Writes <paramref name="size"/> random bytes and reads them back.</summary>
    public static async Task EchoRoundTripAsync(Stream stream, int size = 1024, TimeSpan? timeout = null)
    {
        byte[] payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(size);
        Task send = stream.WriteAsync(payload).AsTask();
        byte[] back = new byte[size];
        await stream.ReadExactlyAsync(back).AsTask().WaitAsync(timeout ?? TestTimeouts.Long);
        await send.WaitAsync(timeout ?? TestTimeouts.Long);
        Assert.Equal(payload, back);
    }

    /// <summary>Opens a stream to <paramref name="service"/> from <paramref name="from"/> and does one echo round trip.</summary>
    public async Task<ReplicaRoute> OpenAndEchoAsync(string from, string service, ushort subprotocol, RouteOptions? options = null, TimeSpan? timeout = null)
    {
        await using RoutedStream stream = await this[from].OpenServiceStreamAsync(service, subprotocol, options).WaitAsync(timeout ?? TestTimeouts.Long);
        await EchoRoundTripAsync(stream, 256, timeout);
        return stream.Route;
    }

    public async ValueTask DisposeAsync()
    {
        // Everything is released even when one part fails to stop in time; the first failure is reported after.
        var failures = new List<Exception>();
        foreach (IAsyncDisposable extra in _extras)
        {
            await DisposeOneAsync(extra, failures);
        }

        foreach (FabricNode node in _nodes)
        {
            await DisposeOneAsync(node, failures);
        }

        foreach (NodeIdentity identity in _identities.Values)
        {
            identity.Dispose();
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("the cluster did not shut down cleanly", failures);
        }
    }

    private static async Task DisposeOneAsync(IAsyncDisposable disposable, List<Exception> failures)
    {
        try
        {
            await disposable.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Long);
        }
        catch (Exception ex)
        {
            failures.Add(ex);
        }
    }
}
