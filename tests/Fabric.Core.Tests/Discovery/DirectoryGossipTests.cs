using Fabric.Core.Discovery;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Discovery;

/// <summary>
/// <see cref="DirectoryGossip"/> over in-memory networks (<see cref="GossipNetwork"/>): convergence to shortest
/// paths, reaction to links and nodes going away, split horizon with poisoned reverse (checked on every ANNOUNCE
/// sent), the hop limit, and malformed input (docs/PROTOCOL.md §3.3, §3.4).
/// </summary>
public class DirectoryGossipTests
{
    [Theory]
    [InlineData(null)]
    [InlineData(11)]
    public void Line_FourNodes_FarEndLearnsOriginAtThreeHopsViaItsNeighbor(int? orderSeed)
    {
        using var net = new GossipNetwork(["a", "b", "c", "d"], orderSeed: orderSeed);
        net.Link("a", "b", 3);
        net.Link("b", "c", 5);
        net.Link("c", "d", 7);

        net.Pump();

        Assert.True(net["d"].Directory.TryGetOrigin(net["a"].Id, out NodeAnnouncement a, out NodeId nextHop, out int hops, out TimeSpan rtt));
        Assert.Equal((net["c"].Id, 3, TimeSpan.FromMilliseconds(15)), (nextHop, hops, rtt));
        Assert.Equal("a", a.Name);
        ReplicaRoute route = Assert.Single(net["d"].Directory.FindReplicas("svc-a", DiscoveryKit.Vendor));
        Assert.Equal((net["a"].Id, net["c"].Id, 3), (route.Origin, route.NextHop, route.Hops));
        net.AssertConverged();
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1)]
    [InlineData(2)]
    public void Ring_FiveNodes_ConvergesToShortestPaths(int? orderSeed)
    {
        using GossipNetwork net = Ring(orderSeed);

        net.Pump();

        net.AssertConverged();
        AssertPath(net, "a", "c", via: "b", hops: 2, rttMs: 8);
        AssertPath(net, "a", "d", via: "e", hops: 2, rttMs: 6);
        AssertPath(net, "c", "e", via: "d", hops: 2, rttMs: 9);
        Assert.All(net.Nodes, n => Assert.Equal(5, n.Directory.OriginCount));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(3)]
    public void Ring_LinkDown_FarNodesRerouteWithinTheSamePump(int? orderSeed)
    {
        using GossipNetwork net = Ring(orderSeed);
        net.Pump();

        net.Unlink("a", "b");
        net.Pump();

        net.AssertConverged();
        AssertPath(net, "b", "a", via: "c", hops: 4, rttMs: 18);
        AssertPath(net, "a", "b", via: "e", hops: 4, rttMs: 18);
        AssertPath(net, "c", "a", via: "d", hops: 3, rttMs: 13);
        Assert.All(net.Nodes, n => Assert.Equal(5, n.Directory.OriginCount));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(4)]
    public void Line_LinkDown_FarNodesDropTheOriginsWithinTheSamePump(int? orderSeed)
    {
        using var net = new GossipNetwork(["a", "b", "c", "d"], orderSeed: orderSeed);
        net.Link("a", "b", 1);
        net.Link("b", "c", 1);
        net.Link("c", "d", 1);
        net.Pump();

        net.Unlink("b", "c");
        net.Pump();

        net.AssertConverged();
        Assert.False(net["d"].Directory.TryGetOrigin(net["a"].Id, out _, out _, out _, out _));
        Assert.False(net["a"].Directory.TryGetOrigin(net["d"].Id, out _, out _, out _, out _));
        Assert.Empty(net["a"].Directory.FindReplicas("svc-d", DiscoveryKit.Vendor));
        Assert.All(net.Nodes, n => Assert.Equal(2, n.Directory.OriginCount));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(5)]
    [InlineData(6)]
    public void Ring_NodeDisappears_WithdrawnEverywhere(int? orderSeed)
    {
        using GossipNetwork net = Ring(orderSeed);
        net.Pump();
        NodeId gone = net["a"].Id;

        net.Remove("a");
        net.Pump();

        net.AssertConverged();
        Assert.All(net.Nodes, n => Assert.False(n.Directory.TryGetOrigin(gone, out _, out _, out _, out _), $"{n} still holds a"));
        Assert.All(net.Nodes, n => Assert.Empty(n.Directory.FindReplicas("svc-a", DiscoveryKit.Vendor)));
        AssertPath(net, "b", "e", via: "c", hops: 3, rttMs: 14);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public void Mesh_OriginBehindTriangleDisappears_NoStaleEntryAndNoCountingPastMaxHops(int? orderSeed)
    {
        // x hangs off a triangle p-q-r (plus a tail t): a loop of three, where split horizon alone does not stop
        // counting to infinity.
        using var net = new GossipNetwork(["x", "p", "q", "r", "t"], orderSeed: orderSeed);
        net.Link("x", "p", 1);
        net.Link("p", "q", 1);
        net.Link("q", "r", 1);
        net.Link("r", "p", 1);
        net.Link("r", "t", 1);
        net.Pump();
        NodeId gone = net["x"].Id;

        net.Remove("x");
        net.Pump();

        net.AssertConverged();
        Assert.All(net.Nodes, n => Assert.False(n.Directory.TryGetOrigin(gone, out _, out _, out _, out _), $"{n} still holds x"));
        Assert.InRange(net.MaxHopsSent, 0, net.Options.MaxHops);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(12)]
    public void PoisonedReverse_NextHopTowardsOrigin_IsToldWithdrawAndHoldsNoPathBack(int? orderSeed)
    {
        using var net = new GossipNetwork(["a", "b", "c"], orderSeed: orderSeed);
        net.Link("a", "b", 1);
        net.Link("b", "c", 1);
        net.Pump();
        AssertPath(net, "c", "a", via: "b", hops: 2, rttMs: 2);

        // c's next hop towards a is b, so b never learned a path to a through c: losing a, b has nothing left.
        net.Unlink("a", "b");
        Assert.False(net["b"].Directory.TryGetOrigin(net["a"].Id, out _, out _, out _, out _));
        net.Pump();
        Assert.False(net["c"].Directory.TryGetOrigin(net["a"].Id, out _, out _, out _, out _));
        net.AssertConverged();
    }

    [Fact]
    public void PoisonedReverse_Republish_NextHopGetsWithdrawNotAnnounce()
    {
        using var net = new GossipNetwork(["a", "b", "c"]);
        net.Link("a", "b", 1);
        net.Link("b", "c", 1);
        net.Pump();

        net.Sent.Clear();
        net.Publish("a");
        net.Pump();
        byte[][] toB = [.. net.Sent.Where(s => s.From == "c" && s.To == "b").Select(s => s.Message)];

        Assert.Contains(toB, m => (ControlMessageType)m[0] == ControlMessageType.Withdraw && ControlMessage.ReadWithdraw(m.AsSpan(4)) == net["a"].Id);
        Assert.DoesNotContain(toB, m => (ControlMessageType)m[0] == ControlMessageType.Announce && ControlMessage.ReadAnnounce(m.AsSpan(4)).Announcement.Origin == net["a"].Id);
        net.AssertConverged();
    }

    [Fact]
    public void MaxHops_LineLongerThanTheLimit_FarNodesNeverLearned()
    {
        using var net = new GossipNetwork(["a", "b", "c", "d", "e", "f"], new DirectoryOptions { MaxHops = 3 });
        foreach ((string x, string y) in (ValueTuple<string, string>[])[("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "f")])
        {
            net.Link(x, y, 1);
        }

        net.Pump();

        net.AssertConverged();
        AssertPath(net, "d", "a", via: "c", hops: 3, rttMs: 3);
        Assert.False(net["e"].Directory.TryGetOrigin(net["a"].Id, out _, out _, out _, out _));
        Assert.Equal(4, net["a"].Directory.OriginCount);
        Assert.True(net["e"].Directory.Statistics.Ignored(IgnoredReason.TooManyHops) > 0);
    }

    [Fact]
    public void Diamond_BetterRttAtEqualHops_ReachesNodesFurtherOn()
    {
        // c hears a through b1 first (slow) then through b2 (fast, same hops): x's path via c keeps its next hop and
        // hop count but its RTT drops, and d behind x must learn that too.
        using var net = new GossipNetwork(["a", "b1", "b2", "c", "x", "d"]);
        net.Link("c", "x", 1);
        net.Link("x", "d", 1);
        net.Link("b1", "c", 1);
        net.Link("b2", "c", 1);
        net.Pump();
        net.Link("a", "b1", 50);
        net.Pump();
        net.Link("a", "b2", 2);
        net.Pump();

        net.AssertConverged();
        AssertPath(net, "d", "a", via: "x", hops: 4, rttMs: 5);
    }

    [Fact]
    public void PublishLocal_NewSequence_ReplacesEverywhere()
    {
        using GossipNetwork net = Ring(null);
        net.Pump();

        net.Publish("c", "extra");
        net.Pump();

        net.AssertConverged();
        Assert.All(net.Nodes, n => Assert.Single(n.Directory.FindReplicas("extra", DiscoveryKit.Vendor)));
    }

    [Fact]
    public void OnMessage_MalformedAnnounceAndWithdraw_CountedIgnoredAndTheChannelKeepsWorking()
    {
        using var net = new GossipNetwork(["a", "b"]);
        net.Link("a", "b", 1);
        net.Pump();
        byte[] good = ControlMessage.Announce(NodeAnnouncement.Create(net["a"].Identity, 50, TimeSpan.FromSeconds(30), 0, "a", [], [], []), 0, TimeSpan.Zero);

        net.Inject("a", "b", [(byte)ControlMessageType.Announce, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
        net.Inject("a", "b", [(byte)ControlMessageType.Announce, 0, 0, 3, 1, 2, 3]);
        net.Inject("a", "b", [good[0], good[1], good[2], (byte)(good[3] - 1), .. good.AsSpan(4, good.Length - 5)]); // one byte short
        net.Inject("a", "b", [(byte)ControlMessageType.Withdraw, 0, 0, 31, .. new byte[31]]);
        net.Inject("a", "b", good);
        net.Pump();

        ServiceDirectory b = net["b"].Directory;
        Assert.Equal(4, b.Statistics.Ignored(IgnoredReason.Malformed));
        Assert.Contains(net["a"].Id, net["b"].Gossip.Neighbors);
        Assert.True(b.TryGetOrigin(net["a"].Id, out NodeAnnouncement held, out _, out _, out _));
        Assert.Equal(50ul, held.Sequence);
        Assert.All(Enum.GetValues<IgnoredReason>().Where(r => r != IgnoredReason.Malformed), r => Assert.Equal(0, b.Statistics.Ignored(r)));
    }

    [Fact]
    public void Expire_OriginTtlRunsOut_WithdrawnFromNeighborsThatStillHoldIt()
    {
        var clock = new ManualTimeProvider();
        using var net = new GossipNetwork(["a", "b", "c"], new DirectoryOptions { TimeProvider = clock, AnnouncementTtl = TimeSpan.FromSeconds(30) });
        net.Link("a", "b", 1);
        net.Pump();
        clock.Advance(TimeSpan.FromSeconds(20));
        net.Link("b", "c", 1); // c first hears a 20 s after b did
        net.Pump();
        clock.Advance(TimeSpan.FromSeconds(11));

        net["b"].Gossip.Expire(); // a did not re-announce: b's copy is 31 s old, c's only 11 s
        net.Pump();

        Assert.False(net["b"].Directory.TryGetOrigin(net["a"].Id, out _, out _, out _, out _));
        Assert.False(net["c"].Directory.TryGetOrigin(net["a"].Id, out _, out _, out _, out _));
        Assert.Equal(1, net["b"].Directory.Statistics.Expired);
        Assert.Equal(1, net["c"].Directory.Statistics.Withdrawn);

        net.Publish("a");
        net.Pump();
        net.AssertConverged();
    }

    [Fact]
    public void RandomMeshes_NodeDisappears_NoStaleEntrySurvives()
    {
        // Loops in a mesh can count an origin up to the hop limit after it vanished; the announcement that finally
        // exceeds the limit must take the path it replaces with it (seeds 62, 70, 71, 72, 105 and 112 left entries
        // behind when it was only ignored).
        for (int seed = 1; seed <= 120; seed++)
        {
            var rng = new System.Random(seed);
            string[] names = [.. Enumerable.Range(0, 6).Select(i => "n" + i)];
            using var net = new GossipNetwork(names, new DirectoryOptions { MaxHops = 6 }, orderSeed: seed);
            var edges = new HashSet<(string, string)>();
            for (int i = 1; i < names.Length; i++)
            {
                AddEdge(net, edges, names[rng.Next(i)], names[i], rng);
            }

            for (int extra = rng.Next(2, 7); extra > 0; extra--)
            {
                AddEdge(net, edges, names[rng.Next(names.Length)], names[rng.Next(names.Length)], rng);
            }

            net.Pump();
            string victim = names[rng.Next(names.Length)];
            NodeId gone = net[victim].Id;
            net.Remove(victim);
            net.Pump();

            Converged(net, seed, $"after removing {victim}");
            Assert.All(net.Nodes, n => Assert.False(n.Directory.TryGetOrigin(gone, out _, out _, out _, out _), $"seed {seed}: {n} still holds {victim}"));
            Assert.InRange(net.MaxHopsSent, 0, net.Options.MaxHops);
        }
    }

    [Fact]
    public void RandomMeshes_ChurnDeliveredInRandomOrder_AlwaysConvergeToShortestPaths()
    {
        for (int seed = 1; seed <= 12; seed++)
        {
            var rng = new System.Random(seed);
            string[] names = [.. Enumerable.Range(0, 7).Select(i => "n" + i)];
            using var net = new GossipNetwork(names, new DirectoryOptions { MaxHops = seed % 3 == 0 ? 3 : 16 }, orderSeed: seed);
            var edges = new HashSet<(string, string)>();
            for (int i = 1; i < names.Length; i++)
            {
                AddEdge(net, edges, names[rng.Next(i)], names[i], rng);
            }

            for (int extra = rng.Next(2, 6); extra > 0; extra--)
            {
                AddEdge(net, edges, names[rng.Next(names.Length)], names[rng.Next(names.Length)], rng);
            }

            net.Pump();
            Converged(net, seed, "initial");
            var live = new List<string>(names);
            for (int step = 0; step < 6; step++)
            {
                string what;
                switch (rng.Next(4))
                {
                    case 0 when edges.Count > 0:
                        {
                            (string x, string y) = edges.ElementAt(rng.Next(edges.Count));
                            edges.Remove((x, y));
                            net.Unlink(x, y);
                            what = $"unlink {x}-{y}";
                            break;
                        }

                    case 1 when live.Count > 3:
                        {
                            string victim = live[rng.Next(live.Count)];
                            live.Remove(victim);
                            edges.RemoveWhere(e => e.Item1 == victim || e.Item2 == victim);
                            net.Remove(victim);
                            what = $"remove {victim}";
                            break;
                        }

                    case 2:
                        {
                            string x = live[rng.Next(live.Count)], y = live[rng.Next(live.Count)];
                            AddEdge(net, edges, x, y, rng);
                            what = $"link {x}-{y}";
                            break;
                        }

                    default:
                        {
                            string x = live[rng.Next(live.Count)];
                            net.Publish(x);
                            what = $"publish {x}";
                            break;
                        }
                }

                net.Pump();
                Converged(net, seed, $"step {step}: {what}");
                Assert.InRange(net.MaxHopsSent, 0, net.Options.MaxHops);
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>a-b-c-d-e-a with RTTs 3, 5, 7, 2, 4 ms.</summary>
    private static GossipNetwork Ring(int? orderSeed)
    {
        var net = new GossipNetwork(["a", "b", "c", "d", "e"], orderSeed: orderSeed);
        net.Link("a", "b", 3);
        net.Link("b", "c", 5);
        net.Link("c", "d", 7);
        net.Link("d", "e", 2);
        net.Link("e", "a", 4);
        return net;
    }

    private static void AssertPath(GossipNetwork net, string from, string to, string via, int hops, int rttMs)
    {
        Assert.True(net[from].Directory.TryGetOrigin(net[to].Id, out _, out NodeId nextHop, out int actualHops, out TimeSpan rtt), $"{from} does not know {to}");
        Assert.Equal((via, hops, TimeSpan.FromMilliseconds(rttMs)), (net.ById(nextHop).Name, actualHops, rtt));
    }

    private static void AddEdge(GossipNetwork net, HashSet<(string, string)> edges, string x, string y, System.Random rng)
    {
        if (x == y || edges.Contains((x, y)) || edges.Contains((y, x)))
        {
            return;
        }

        edges.Add((x, y));
        net.Link(x, y, rng.Next(1, 10));
    }

    private static void Converged(GossipNetwork net, int seed, string when)
    {
        try
        {
            net.AssertConverged();
        }
        catch (Exception ex)
        {
            throw new Xunit.Sdk.XunitException($"seed {seed}, {when}: {ex.Message}");
        }
    }
}
