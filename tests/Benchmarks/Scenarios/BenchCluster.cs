using System.Diagnostics;
using System.Net;
using Fabric.Core.Nodes;
using Fabric.Core.Security;

namespace Benchmarks.Scenarios;

/// <summary>
/// Fabric nodes in this process, listening on loopback and linked over TCP with secure links (the default), every
/// node trusting every other by pinned key. Disposed together (nodes still running are stopped with GOAWAY).
/// </summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private readonly List<FabricNode> _nodes = [];
    private readonly Dictionary<string, NodeIdentity> _identities = [];

    public BenchCluster(params string[] names)
    {
        foreach (string name in names)
        {
            _identities[name] = NodeIdentity.Generate();
        }
    }

    public FabricNode this[string name] => _nodes.Single(n => n.Options.Name == name);

    public NodeIdentity Identity(string name) => _identities[name];

    public FabricTrust Trust => new(pinnedPublicKeys: [.. _identities.Values.Select(i => i.PublicKey)]);

    /// <summary>The address and key <paramref name="name"/> (already started) is dialed with.</summary>
    public PeerEndpoint Peer(string name) => new(this[name].ListenEndPoint!, _identities[name].PublicKey);

    /// <summary>Dials <paramref name="name"/> through another address (a forwarder in front of it).</summary>
    public PeerEndpoint PeerVia(string name, EndPoint address) => new(address, _identities[name].PublicKey);

    /// <summary>
    /// Creates <paramref name="name"/> listening on a free loopback port and dialing <paramref name="dials"/>;
    /// <paramref name="setup"/> runs before the node starts (handlers, services), so its first announcement has them.
    /// </summary>
    public async Task<FabricNode> StartAsync(string name, IReadOnlyList<PeerEndpoint>? dials = null, Action<FabricNode>? setup = null, Func<FabricNodeOptions, FabricNodeOptions>? configure = null)
    {
        var options = new FabricNodeOptions
        {
            Name = name,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Peers = dials ?? [],
            ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
            Session = new Fabric.Core.Sessions.FabricSessionOptions { DrainTimeout = TimeSpan.FromSeconds(2) },
        };
        options = configure?.Invoke(options) ?? options;
        var node = new FabricNode(_identities[name], Trust, options);
        setup?.Invoke(node);
        _nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    /// <summary>Disposes one node now (GOAWAY on its links); the cluster no longer owns it.</summary>
    public ValueTask StopAsync(string name)
    {
        FabricNode node = this[name];
        _nodes.Remove(node);
        return node.DisposeAsync();
    }

    /// <summary>Polls <paramref name="condition"/> every millisecond; throws when <paramref name="timeout"/> passes first.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for: {what}");
            }

            await Task.Delay(1);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (FabricNode node in _nodes)
        {
            await node.DisposeAsync();
        }

        _nodes.Clear();
        foreach (NodeIdentity identity in _identities.Values)
        {
            identity.Dispose();
        }
    }
}
