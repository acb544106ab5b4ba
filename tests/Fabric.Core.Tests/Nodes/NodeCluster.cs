using System.Net;
using Fabric.Core.Nodes;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Nodes;

/// <summary>Fabric nodes in this process, linked over loopback TCP as a test describes; disposed together.</summary>
internal sealed class NodeCluster : IAsyncDisposable
{
    private readonly List<FabricNode> _nodes = [];
    private readonly Dictionary<string, NodeIdentity> _identities = [];

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

    /// <summary>Starts <paramref name="name"/> listening on a free port, dialing the already-started <paramref name="dials"/>.</summary>
    public async Task<FabricNode> StartAsync(string name, string[]? dials = null, Func<FabricNodeOptions, FabricNodeOptions>? configure = null)
    {
        var peers = (dials ?? []).Select(d => new PeerEndpoint(this[d].ListenEndPoint!, _identities[d].PublicKey)).ToList();
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
        await node.StartAsync();
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (FabricNode node in _nodes)
        {
            await node.DisposeAsync();
        }

        foreach (NodeIdentity identity in _identities.Values)
        {
            identity.Dispose();
        }
    }
}
