using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Fabric.Core.Discovery;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Discovery;

/// <summary>
/// DirectoryGossip instances wired by in-memory control channels. Messages wait on their link until
/// <see cref="Pump"/> delivers them: in global send order, or (with a seed) picking a random link each time while
/// every link stays in order, as a TCP connection does. A link that goes down drops what it still carried.
/// Every ANNOUNCE sent is checked against split horizon with poisoned reverse.
/// </summary>
internal sealed class GossipNetwork : IDisposable
{
    private readonly Dictionary<string, SimNode> _nodes = [];
    private readonly Dictionary<NodeId, SimNode> _byId = [];
    private readonly System.Random? _order;
    private long _number;

    public GossipNetwork(IEnumerable<string> names, DirectoryOptions? options = null, int? orderSeed = null)
    {
        Options = options ?? new DirectoryOptions();
        _order = orderSeed is { } seed ? new System.Random(seed) : null;
        foreach (string name in names)
        {
            // Keys derived from the names: node ids, and so every dictionary order inside the directories, are the
            // same on every run, so a seed replays exactly.
            var node = new SimNode(name, NodeIdentity.FromPrivateScalar(SHA256.HashData(Encoding.UTF8.GetBytes("gossip-sim/" + name))));
            _nodes[name] = node;
            _byId[node.Id] = node;
        }

        FabricTrust trust = new(pinnedPublicKeys: _nodes.Values.Select(n => n.Identity.PublicKey));
        foreach (SimNode node in _nodes.Values)
        {
            node.Directory = new ServiceDirectory(node.Identity, trust, Options);
            node.Gossip = new DirectoryGossip(node.Directory);
            Publish(node.Name);
        }
    }

    public DirectoryOptions Options { get; }

    public IEnumerable<SimNode> Nodes => _nodes.Values;

    /// <summary>ANNOUNCE messages sent, with the sender's best next hop to the origin at the time.</summary>
    public long AnnouncesSent { get; private set; }

    /// <summary>Highest hop count any ANNOUNCE carried.</summary>
    public int MaxHopsSent { get; private set; }

    /// <summary>Every message sent so far (sender, receiver, bytes), including ones a link then lost.</summary>
    public List<(string From, string To, byte[] Message)> Sent { get; } = [];

    public SimNode this[string name] => _nodes[name];

    public SimNode ById(NodeId id) => _byId[id];

    /// <summary>The node (re)announces itself with a new sequence and one replica of service "svc-NAME".</summary>
    public void Publish(string name, params string[] extraServices)
    {
        SimNode node = _nodes[name];
        node.Sequence++;
        ServiceReplica[] replicas = [new ServiceReplica("svc-" + name, "i1", [DiscoveryKit.Vendor]), .. extraServices.Select(s => new ServiceReplica(s, "i1", [DiscoveryKit.Vendor]))];
        node.Gossip.PublishLocal(NodeAnnouncement.Create(node.Identity, node.Sequence, Options.AnnouncementTtl, 0, name, ["relay"], [DiscoveryKit.Vendor], replicas));
    }

    public void Link(string a, string b, int rttMs)
    {
        SimNode x = _nodes[a], y = _nodes[b];
        Assert.False(x.Channels.ContainsKey(b), $"{a}-{b} already linked");
        var xy = new SimChannel(this, x, y, TimeSpan.FromMilliseconds(rttMs));
        var yx = new SimChannel(this, y, x, TimeSpan.FromMilliseconds(rttMs)) { Reverse = xy };
        xy.Reverse = yx;
        x.Channels[b] = xy;
        y.Channels[a] = yx;
        x.Gossip.AddChannel(xy);
        y.Gossip.AddChannel(yx);
    }

    /// <summary>Both ends see the link go down; what it still carried is lost.</summary>
    public void Unlink(string a, string b)
    {
        SimChannel xy = _nodes[a].Channels[b], yx = _nodes[b].Channels[a];
        Close(xy);
        Close(yx);
        _nodes[a].Channels.Remove(b);
        _nodes[b].Channels.Remove(a);
        _nodes[a].Gossip.RemoveChannel(xy);
        _nodes[b].Gossip.RemoveChannel(yx);
    }

    /// <summary>The node vanishes: all its links drop at once; only its neighbors notice.</summary>
    public void Remove(string name)
    {
        SimNode node = _nodes[name];
        List<SimChannel> channels = [.. node.Channels.Values];
        foreach (SimChannel c in channels)
        {
            Close(c);
            Close(c.Reverse!);
            c.Peer.Channels.Remove(name);
        }

        node.Channels.Clear();

        foreach (SimChannel c in channels)
        {
            c.Peer.Gossip.RemoveChannel(c.Reverse!);
        }

        _nodes.Remove(name);
    }

    /// <summary>Delivers messages until none is left; fails past <paramref name="limit"/> (a loop that never settles).</summary>
    public int Pump(int limit = 100_000)
    {
        int delivered = 0;
        while (NextChannel() is { } channel)
        {
            (_, byte[] message) = channel.Pending.Dequeue();
            Assert.True(++delivered <= limit, $"no convergence after {limit} messages");
            var buffer = new ReadOnlySequence<byte>(message);
            Assert.True(ControlMessage.TryRead(ref buffer, out ControlMessageType type, out ReadOnlySequence<byte> body));
            Assert.Equal(0, buffer.Length);
            channel.Peer.Gossip.OnMessage(channel.Reverse!, type, body);
        }

        return delivered;
    }

    /// <summary>Puts raw bytes on the link from <paramref name="from"/> to <paramref name="to"/>, behind what it already carries.</summary>
    public void Inject(string from, string to, byte[] message) => _nodes[from].Channels[to].Pending.Enqueue((NextNumber(), message));

    internal long NextNumber() => ++_number;

    /// <summary>
    /// Checks every ANNOUNCE as it is sent: a node never tells the neighbor that is its own next hop towards the
    /// origin that it has a path (poisoned reverse), nor tells a node about itself.
    /// </summary>
    internal void OnSend(SimChannel channel, byte[] message)
    {
        Sent.Add((channel.Owner.Name, channel.Peer.Name, message));
        if ((ControlMessageType)message[0] != ControlMessageType.Announce)
        {
            return;
        }

        (NodeAnnouncement announcement, int hops, _) = ControlMessage.ReadAnnounce(message.AsSpan(ControlMessage.HeaderSize));
        AnnouncesSent++;
        MaxHopsSent = Math.Max(MaxHopsSent, hops);
        Assert.True(announcement.Origin != channel.Neighbor, $"{channel.Owner} told {channel.Peer} about itself");
        if (announcement.Origin != channel.Owner.Id)
        {
            Assert.True(channel.Owner.Directory.TryGetOrigin(announcement.Origin, out _, out NodeId nextHop, out int held, out _), $"{channel.Owner} announced an origin it does not hold");
            Assert.True(nextHop != channel.Neighbor, $"{channel.Owner} announced {ById(announcement.Origin)} to {channel.Peer}, its own next hop towards it");
            Assert.Equal(held, hops);
        }
    }

    /// <summary>
    /// Every node holds exactly the nodes it can reach within MaxHops, each at the fewest hops and, among those, the
    /// lowest RTT, through a neighbor one hop nearer; and no two neighbors route to an origin through each other.
    /// </summary>
    public void AssertConverged()
    {
        foreach (SimNode node in _nodes.Values)
        {
            Dictionary<SimNode, (int Hops, TimeSpan Rtt)> best = ShortestPaths(node);
            var expected = best.Where(kv => kv.Value.Hops <= Options.MaxHops).ToDictionary(kv => kv.Key.Id, kv => kv.Value);
            var held = node.Directory.Origins().ToDictionary(o => o.Announcement.Origin);
            string heldNames = string.Join(", ", held.Keys.Select(id => _byId[id].Name).Order());
            string expectedNames = string.Join(", ", expected.Keys.Select(id => _byId[id].Name).Order());
            Assert.True(expectedNames == heldNames, $"{node} holds [{heldNames}], expected [{expectedNames}]");
            foreach ((NodeId origin, (int hops, TimeSpan rtt)) in expected)
            {
                var o = held[origin];
                SimNode target = _byId[origin];
                Assert.True((hops, rtt) == (o.Hops, o.Rtt), $"{node} -> {target}: holds {o.Hops} hops {o.Rtt.TotalMilliseconds} ms, shortest is {hops} hops {rtt.TotalMilliseconds} ms");
                Assert.Equal(target.Sequence, o.Announcement.Sequence);
                if (origin != node.Id)
                {
                    SimNode next = _byId[o.NextHop];
                    Assert.True(node.Channels.ContainsKey(next.Name), $"{node} -> {target}: next hop {next} is not a neighbor");
                    Assert.True(next.Directory.TryGetOrigin(origin, out _, out NodeId theirNext, out int theirHops, out _), $"{next} does not know {target}");
                    Assert.Equal(hops - 1, theirHops);
                    Assert.True(origin == next.Id || theirNext != node.Id, $"{node} and {next} route to {target} through each other");
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (SimNode node in _byId.Values)
        {
            node.Identity.Dispose();
        }
    }

    private static void Close(SimChannel channel)
    {
        channel.Closed = true;
        channel.Pending.Clear();
    }

    private SimChannel? NextChannel()
    {
        List<SimChannel> busy = [.. _nodes.Values.SelectMany(n => n.Channels.Values).Where(c => c.Pending.Count > 0)];
        if (busy.Count == 0)
        {
            return null;
        }

        return _order is null ? busy.MinBy(c => c.Pending.Peek().Number) : busy[_order.Next(busy.Count)];
    }

    /// <summary>Lexicographic (hops, RTT) Dijkstra over the live links.</summary>
    private Dictionary<SimNode, (int Hops, TimeSpan Rtt)> ShortestPaths(SimNode source)
    {
        var dist = new Dictionary<SimNode, (int Hops, TimeSpan Rtt)> { [source] = (0, TimeSpan.Zero) };
        var done = new HashSet<SimNode>();
        while (true)
        {
            SimNode? u = dist.Keys.Where(n => !done.Contains(n)).OrderBy(n => dist[n].Hops).ThenBy(n => dist[n].Rtt).FirstOrDefault();
            if (u is null)
            {
                return dist;
            }

            done.Add(u);
            foreach (SimChannel c in u.Channels.Values.Where(c => !c.Closed))
            {
                (int Hops, TimeSpan Rtt) candidate = (dist[u].Hops + 1, dist[u].Rtt + c.LinkRtt);
                if (!dist.TryGetValue(c.Peer, out var current) || candidate.Hops < current.Hops || (candidate.Hops == current.Hops && candidate.Rtt < current.Rtt))
                {
                    dist[c.Peer] = candidate;
                }
            }
        }
    }
}
