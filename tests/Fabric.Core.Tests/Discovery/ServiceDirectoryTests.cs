using Fabric.Core.Discovery;
using Fabric.Core.Security;
using static Fabric.Core.Tests.Discovery.DiscoveryKit;

namespace Fabric.Core.Tests.Discovery;

/// <summary>
/// <see cref="ServiceDirectory"/>: acceptance rules and their counters (docs/PROTOCOL.md §3.2), best path by hops then
/// RTT, withdrawal, neighbor loss, expiry, lookups and split horizon (§3.4).
/// </summary>
public sealed class ServiceDirectoryTests : IDisposable
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    private readonly ManualTimeProvider _clock = new();
    private readonly NodeIdentity _self = NodeIdentity.Generate();
    private readonly NodeIdentity _a = NodeIdentity.Generate();
    private readonly NodeIdentity _b = NodeIdentity.Generate();
    private readonly NodeIdentity _c = NodeIdentity.Generate();
    private readonly NodeId _n1 = RandomNodeId();
    private readonly NodeId _n2 = RandomNodeId();
    private readonly NodeId _n3 = RandomNodeId();

    public void Dispose()
    {
        foreach (NodeIdentity identity in (NodeIdentity[])[_self, _a, _b, _c])
        {
            identity.Dispose();
        }
    }

    // ---------------------------------------------------------------- acceptance and best path

    [Fact]
    public void ApplyAnnouncement_NewOrigin_ChangedAndHeldWithItsPath()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a, 5, null, Replica("orders"));

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, a, 2, 30 * Ms));

        Assert.Equal(2, d.OriginCount);
        Assert.Equal(2, d.ReplicaCount);
        AssertBest(d, _a.Id, _n1, 2, 30 * Ms);
        Assert.True(d.TryGetOrigin(_a.Id, out NodeAnnouncement held, out _, out _, out _));
        Assert.Same(a, held);
        Assert.Equal(1, d.Statistics.Accepted);
        Assert.Equal(1, d.Statistics.SignaturesVerified);
        Assert.All(Enum.GetValues<IgnoredReason>(), r => Assert.Equal(0, d.Statistics.Ignored(r)));
    }

    [Fact]
    public void ApplyAnnouncement_SameBytesFromSecondNeighborWithFewerHops_SecondPathBecomesBest()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 3, 10 * Ms);

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n2, NodeAnnouncement.Parse(a.Encoded), 2, 90 * Ms));

        AssertBest(d, _a.Id, _n2, 2, 90 * Ms); // fewer hops wins over lower RTT
        (IReadOnlyList<NodeId> lost, IReadOnlyList<NodeId> changed) = d.NeighborLost(_n2);
        Assert.Empty(lost);
        Assert.Equal([_a.Id], changed);
        AssertBest(d, _a.Id, _n1, 3, 10 * Ms); // the first path was kept
        Assert.Equal(1, d.Statistics.Accepted);
    }

    [Fact]
    public void ApplyAnnouncement_SameBytesFromSecondNeighborWithMoreHops_UnchangedFirstStaysBest()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 2, 50 * Ms);

        Assert.Equal(DirectoryChange.Unchanged, d.ApplyAnnouncement(_n2, a, 3, 1 * Ms));

        AssertBest(d, _a.Id, _n1, 2, 50 * Ms);
        Assert.Equal(DirectoryChange.Changed, d.ApplyWithdrawal(_n1, _a.Id));
        AssertBest(d, _a.Id, _n2, 3, 1 * Ms);
    }

    [Fact]
    public void ApplyAnnouncement_EqualHopsLowerRtt_BestPathMoves()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 2, 30 * Ms);

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n2, a, 2, 10 * Ms));
        AssertBest(d, _a.Id, _n2, 2, 10 * Ms);
        Assert.Equal(DirectoryChange.Unchanged, d.ApplyAnnouncement(_n3, a, 2, 20 * Ms));
        AssertBest(d, _a.Id, _n2, 2, 10 * Ms);
    }

    [Fact]
    public void ApplyAnnouncement_SameNeighborNewRttOnBestPath_Changed()
    {
        // The path RTT is part of what this node tells its neighbors (and what replica choice ranks by).
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 2, 30 * Ms);

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, a, 2, 12 * Ms));
        AssertBest(d, _a.Id, _n1, 2, 12 * Ms);
        Assert.Equal(DirectoryChange.Unchanged, d.ApplyAnnouncement(_n1, a, 2, 12 * Ms));
    }

    [Fact]
    public void ApplyAnnouncement_SameNeighborMoreHops_ChangedAndPathWorsened()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 2, 30 * Ms);

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, a, 5, 30 * Ms));
        AssertBest(d, _a.Id, _n1, 5, 30 * Ms);
    }

    [Fact]
    public void ApplyAnnouncement_NewerSequence_ReplacesAndKeepsOtherPaths()
    {
        ServiceDirectory d = NewDirectory();
        d.ApplyAnnouncement(_n1, Announce(_a, 1, null, Replica("orders")), 2, 10 * Ms);
        NodeAnnouncement newer = Announce(_a, 2, null, Replica("billing"));

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n2, newer, 3, 10 * Ms));

        Assert.True(d.TryGetOrigin(_a.Id, out NodeAnnouncement held, out NodeId nextHop, out int hops, out _));
        Assert.Same(newer, held);
        Assert.Equal((_n1, 2), (nextHop, hops)); // n1 still reaches the origin
        Assert.Empty(d.FindReplicas("orders", Vendor));
        Assert.Single(d.FindReplicas("billing", Vendor));
        Assert.Equal(2, d.Statistics.Accepted);
        Assert.Equal(2, d.Statistics.SignaturesVerified);
    }

    [Fact]
    public void ApplyAnnouncement_OlderSequence_IgnoredAsStale()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement older = Announce(_a, 4);
        d.ApplyAnnouncement(_n1, Announce(_a, 5), 2, Ms);

        AssertIgnored(d, older, 1, IgnoredReason.Stale, verifies: false);
    }

    [Fact]
    public void ApplyAnnouncement_SameSequenceDifferentContent_IgnoredAsBadSignature()
    {
        ServiceDirectory d = NewDirectory();
        d.ApplyAnnouncement(_n1, Announce(_a, 5), 2, Ms);
        NodeAnnouncement forged = AnnounceOther(_a, 5); // validly signed, but not the bytes held for sequence 5

        AssertIgnored(d, forged, 1, IgnoredReason.BadSignature, verifies: false);
    }

    [Fact]
    public void ApplyAnnouncement_BadSignature_Ignored()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a, 5);
        NodeAnnouncement tampered = NodeAnnouncement.Parse(Flip(a.Encoded, a.Encoded.Length - 1));

        AssertIgnored(d, tampered, 1, IgnoredReason.BadSignature, verifies: true);
    }

    [Fact]
    public void ApplyAnnouncement_NewerSequenceBadSignature_IgnoredOldKept()
    {
        ServiceDirectory d = NewDirectory();
        d.ApplyAnnouncement(_n1, Announce(_a, 5), 2, Ms);
        NodeAnnouncement newer = Announce(_a, 6);
        NodeAnnouncement tampered = NodeAnnouncement.Parse(Flip(newer.Encoded, newer.Encoded.Length - 10));

        AssertIgnored(d, tampered, 1, IgnoredReason.BadSignature, verifies: true);
        Assert.True(d.TryGetOrigin(_a.Id, out NodeAnnouncement held, out _, out _, out _));
        Assert.Equal(5ul, held.Sequence);
    }

    [Fact]
    public void ApplyAnnouncement_OriginNotPinned_IgnoredAsUntrusted()
    {
        ServiceDirectory d = NewDirectory(trust: Pinning(_self, _b));

        AssertIgnored(d, Announce(_a), 1, IgnoredReason.Untrusted, verifies: true);
    }

    [Fact]
    public void ApplyAnnouncement_RevokedOrigin_IgnoredAsUntrusted()
    {
        ServiceDirectory d = NewDirectory(trust: new FabricTrust(pinnedPublicKeys: [_self.PublicKey, _a.PublicKey], revokedNodes: [_a.Id]));

        AssertIgnored(d, Announce(_a), 1, IgnoredReason.Untrusted, verifies: true);
    }

    [Fact]
    public void ApplyAnnouncement_TrustReplaced_NewPolicyApplies()
    {
        ServiceDirectory d = NewDirectory(trust: Pinning(_self));
        Assert.Equal(DirectoryChange.Ignored, d.ApplyAnnouncement(_n1, Announce(_a), 1, Ms));

        d.Trust = Pinning(_self, _a);

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, Announce(_a, 2), 1, Ms));
    }

    [Fact]
    public void ApplyAnnouncement_UnknownService_Ignored()
    {
        ServiceDirectory d = NewDirectory(new DirectoryOptions { KnownServices = new HashSet<string> { "orders", "billing" } });

        AssertIgnored(d, Announce(_a, 1, null, Replica("orders"), Replica("mystery", "m")), 1, IgnoredReason.UnknownService, verifies: false);
        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, Announce(_b, 1, null, Replica("orders"), Replica("billing", "b")), 1, Ms));
        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, Announce(_c), 1, Ms)); // no replica at all
    }

    [Fact]
    public void ApplyAnnouncement_DirectoryFull_IgnoredAsTooManyOrigins()
    {
        ServiceDirectory d = NewDirectory(new DirectoryOptions { MaxOrigins = 3 }); // this node and two others
        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, Announce(_a), 1, Ms));
        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, Announce(_b), 1, Ms));

        AssertIgnored(d, Announce(_c), 1, IgnoredReason.TooManyOrigins, verifies: false);

        // Origins already held still refresh.
        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n2, Announce(_a, 2), 1, Ms));
        Assert.Equal(3, d.OriginCount);
    }

    [Fact]
    public void ApplyAnnouncement_ConcurrentNewOrigins_NeverMoreThanMaxOrigins()
    {
        NodeIdentity[] origins = [.. Enumerable.Range(0, 32).Select(_ => NodeIdentity.Generate())];
        try
        {
            NodeAnnouncement[] announcements = [.. origins.Select(o => Announce(o))];
            for (int round = 0; round < 25; round++)
            {
                ServiceDirectory d = NewDirectory(new DirectoryOptions { MaxOrigins = 5 }, Pinning([_self, .. origins]));
                using var start = new Barrier(4);
                Thread[] workers = [.. Enumerable.Range(0, 4).Select(worker => new Thread(() =>
                {
                    start.SignalAndWait();
                    for (int i = worker; i < announcements.Length; i += 4)
                    {
                        d.ApplyAnnouncement(_n1, announcements[i], 1, Ms);
                    }
                }))];
                Array.ForEach(workers, w => w.Start());
                Array.ForEach(workers, w => w.Join());

                Assert.Equal(5, d.OriginCount);
                Assert.Equal(4, d.Statistics.Accepted);
                Assert.Equal(announcements.Length - 4, d.Statistics.Ignored(IgnoredReason.TooManyOrigins));
            }
        }
        finally
        {
            Array.ForEach(origins, o => o.Dispose());
        }
    }

    [Fact]
    public void ApplyAnnouncement_HopsAboveMaxHops_IgnoredAsTooManyHops()
    {
        ServiceDirectory d = NewDirectory(new DirectoryOptions { MaxHops = 16, TimeProvider = _clock });

        AssertIgnored(d, Announce(_a), 17, IgnoredReason.TooManyHops, verifies: false);
        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, Announce(_a), 16, Ms));
        AssertBest(d, _a.Id, _n1, 16, Ms);
    }

    [Fact]
    public void ApplyAnnouncement_TooManyHopsFromCurrentPath_ThatPathDropped()
    {
        // A neighbor whose own distance grew past the limit no longer reaches the origin (it is the hop-count
        // "infinity" that ends counting loops): keeping its old, shorter path would keep a dead origin alive.
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 3, Ms);
        d.ApplyAnnouncement(_n2, a, 5, Ms);

        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, a, 17, Ms));
        AssertBest(d, _a.Id, _n2, 5, Ms);
        Assert.Equal(DirectoryChange.Lost, d.ApplyAnnouncement(_n2, a, 17, Ms));
        Assert.False(d.TryGetOrigin(_a.Id, out _, out _, out _, out _));
        Assert.Equal(2, d.Statistics.Ignored(IgnoredReason.TooManyHops));
        Assert.Equal(1, d.Statistics.Withdrawn);
    }

    [Fact]
    public void ApplyAnnouncement_ClaimsToBeSelf_Ignored()
    {
        ServiceDirectory d = NewDirectory();

        AssertIgnored(d, Announce(_self, 99), 1, IgnoredReason.ClaimsToBeSelf, verifies: false);
        Assert.True(d.TryGetOrigin(_self.Id, out NodeAnnouncement own, out _, out int hops, out _));
        Assert.Equal((1ul, 0), (own.Sequence, hops));
    }

    [Fact]
    public void ApplyAnnouncement_AlreadyHeldFromManyNeighbors_SignatureVerifiedOncePerSequence()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement first = Announce(_a, 1);
        foreach (NodeId neighbor in (NodeId[])[_n1, _n2, _n3, _n1])
        {
            d.ApplyAnnouncement(neighbor, NodeAnnouncement.Parse(first.Encoded), 2, Ms);
        }

        Assert.Equal(1, d.Statistics.SignaturesVerified);
        NodeAnnouncement second = Announce(_a, 2);
        foreach (NodeId neighbor in (NodeId[])[_n2, _n1, _n3])
        {
            d.ApplyAnnouncement(neighbor, second, 3, Ms);
        }

        d.ApplyAnnouncement(_n1, first, 1, Ms); // stale: not verified either
        Assert.Equal(2, d.Statistics.SignaturesVerified);
        Assert.Equal(2, d.Statistics.Accepted);
    }

    [Fact]
    public void SetLocal_AnotherNodesAnnouncement_ArgumentException()
    {
        ServiceDirectory d = NewDirectory();
        Assert.Throws<ArgumentException>(() => d.SetLocal(Announce(_a)));
        Assert.Equal(1, d.OriginCount);
    }

    // ---------------------------------------------------------------- withdrawal and neighbor loss

    [Fact]
    public void ApplyWithdrawal_LastPath_LostAndRemoved()
    {
        ServiceDirectory d = NewDirectory();
        d.ApplyAnnouncement(_n1, Announce(_a, 1, null, Replica("orders")), 2, Ms);

        Assert.Equal(DirectoryChange.Lost, d.ApplyWithdrawal(_n1, _a.Id));

        Assert.False(d.TryGetOrigin(_a.Id, out _, out _, out _, out _));
        Assert.Empty(d.FindReplicas("orders", Vendor));
        Assert.Equal(1, d.OriginCount);
        Assert.Equal(1, d.Statistics.Withdrawn);
        Assert.Equal(DirectoryChange.Unchanged, d.ApplyWithdrawal(_n1, _a.Id));
    }

    [Fact]
    public void ApplyWithdrawal_BestOfTwoPaths_ChangedToTheOther()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 2, Ms);
        d.ApplyAnnouncement(_n2, a, 4, Ms);

        Assert.Equal(DirectoryChange.Changed, d.ApplyWithdrawal(_n1, _a.Id));

        AssertBest(d, _a.Id, _n2, 4, Ms);
        Assert.Equal(0, d.Statistics.Withdrawn);
    }

    [Fact]
    public void ApplyWithdrawal_EqualHopsBestRtt_ChangedToTheOther()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 2, 5 * Ms);
        d.ApplyAnnouncement(_n2, a, 2, 9 * Ms);

        Assert.Equal(DirectoryChange.Changed, d.ApplyWithdrawal(_n1, _a.Id));
        AssertBest(d, _a.Id, _n2, 2, 9 * Ms);
    }

    [Fact]
    public void ApplyWithdrawal_NotTheBestOfTwoPaths_Unchanged()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement a = Announce(_a);
        d.ApplyAnnouncement(_n1, a, 2, Ms);
        d.ApplyAnnouncement(_n2, a, 4, Ms);

        Assert.Equal(DirectoryChange.Unchanged, d.ApplyWithdrawal(_n2, _a.Id));

        AssertBest(d, _a.Id, _n1, 2, Ms);
        Assert.Equal(DirectoryChange.Lost, d.ApplyWithdrawal(_n1, _a.Id)); // the n2 path really went
    }

    [Fact]
    public void ApplyWithdrawal_NoPathThroughThatNeighborOrUnknownOrLocal_UnchangedNothingRemoved()
    {
        ServiceDirectory d = NewDirectory();
        d.ApplyAnnouncement(_n1, Announce(_a), 2, Ms);
        string before = Snapshot(d);

        Assert.Equal(DirectoryChange.Unchanged, d.ApplyWithdrawal(_n2, _a.Id));
        Assert.Equal(DirectoryChange.Unchanged, d.ApplyWithdrawal(_n1, _b.Id));
        Assert.Equal(DirectoryChange.Unchanged, d.ApplyWithdrawal(_n1, _self.Id));

        Assert.Equal(before, Snapshot(d));
        Assert.Equal(0, d.Statistics.Withdrawn);
    }

    [Fact]
    public void NeighborLost_PathsThroughIt_ReturnsLostAndChangedOrigins()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement b = Announce(_b), c = Announce(_c);
        d.ApplyAnnouncement(_n1, Announce(_a), 1, Ms); // only via n1: lost
        d.ApplyAnnouncement(_n1, b, 2, Ms);            // best via n1, also via n2: changed
        d.ApplyAnnouncement(_n2, b, 3, Ms);
        d.ApplyAnnouncement(_n2, c, 1, Ms);            // best via n2, also via n1: untouched
        d.ApplyAnnouncement(_n1, c, 4, Ms);

        (IReadOnlyList<NodeId> lost, IReadOnlyList<NodeId> changed) = d.NeighborLost(_n1);

        Assert.Equal([_a.Id], lost);
        Assert.Equal([_b.Id], changed);
        Assert.Equal(3, d.OriginCount);
        AssertBest(d, _b.Id, _n2, 3, Ms);
        AssertBest(d, _c.Id, _n2, 1, Ms);
        Assert.Equal(1, d.Statistics.Withdrawn);
        Assert.Equal((0, 0), (d.NeighborLost(_n1).Lost.Count, d.NeighborLost(_n1).Changed.Count));
        Assert.True(d.TryGetOrigin(_self.Id, out _, out _, out _, out _));
    }

    // ---------------------------------------------------------------- expiry

    [Fact]
    public void ExpireStale_TtlRunsOut_OriginRemoved()
    {
        ServiceDirectory d = NewDirectory();
        d.ApplyAnnouncement(_n1, Announce(_a, 1, TimeSpan.FromSeconds(30)), 1, Ms);
        d.ApplyAnnouncement(_n1, Announce(_b, 1, TimeSpan.FromSeconds(60)), 1, Ms);

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(d.ExpireStale());
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal([_a.Id], d.ExpireStale());

        Assert.False(d.TryGetOrigin(_a.Id, out _, out _, out _, out _));
        Assert.True(d.TryGetOrigin(_b.Id, out _, out _, out _, out _));
        Assert.Equal(1, d.Statistics.Expired);
        Assert.Equal(0, d.Statistics.Withdrawn);
    }

    [Fact]
    public void ExpireStale_TtlAboveMaxTtl_CappedAtMaxTtl()
    {
        ServiceDirectory d = NewDirectory(new DirectoryOptions { MaxTtl = TimeSpan.FromMinutes(1), TimeProvider = _clock });
        d.ApplyAnnouncement(_n1, Announce(_a, 1, TimeSpan.FromHours(10), Replica("remote")), 1, Ms);

        _clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Empty(d.ExpireStale());
        Assert.Equal(_clock.GetUtcNow(), Assert.Single(d.FindReplicas("remote", Vendor), r => !r.IsLocal).ExpiresAt);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([_a.Id], d.ExpireStale());
    }

    [Fact]
    public void ExpireStale_LocalEntry_NeverExpires()
    {
        ServiceDirectory d = NewDirectory();
        _clock.Advance(TimeSpan.FromDays(365));

        Assert.Empty(d.ExpireStale());
        Assert.True(d.TryGetOrigin(_self.Id, out _, out _, out _, out _));
        Assert.Equal(DateTimeOffset.MaxValue, Assert.Single(d.FindReplicas("local", Vendor)).ExpiresAt);
    }

    [Fact]
    public void ExpireStale_NewerSequenceRestartsTheTtlSameSequenceDoesNot()
    {
        ServiceDirectory d = NewDirectory();
        NodeAnnouncement b = Announce(_b, 1, TimeSpan.FromSeconds(30));
        d.ApplyAnnouncement(_n1, Announce(_a, 1, TimeSpan.FromSeconds(30)), 1, Ms);
        d.ApplyAnnouncement(_n1, b, 1, Ms);
        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(DirectoryChange.Changed, d.ApplyAnnouncement(_n1, Announce(_a, 2, TimeSpan.FromSeconds(30)), 1, Ms));
        Assert.Equal(DirectoryChange.Unchanged, d.ApplyAnnouncement(_n2, NodeAnnouncement.Parse(b.Encoded), 1, Ms)); // a copy, not a refresh

        _clock.Advance(TimeSpan.FromSeconds(20));

        Assert.Equal([_b.Id], d.ExpireStale());
        Assert.True(d.TryGetOrigin(_a.Id, out _, out _, out _, out _));
    }

    // ---------------------------------------------------------------- lookups

    [Fact]
    public void FindReplicas_ServiceAndSubprotocol_FiltersAndCarriesTheBestPath()
    {
        ServiceDirectory d = NewDirectory();
        d.ApplyAnnouncement(_n1, Announce(_a, 1, null, Replica("orders", "a1", 0x2201, 0x0100), Replica("billing", "a2", 0x2201)), 2, 7 * Ms);
        d.ApplyAnnouncement(_n2, Announce(_b, 1, null, Replica("orders", "b1", 0x0100)), 1, 3 * Ms);

        IReadOnlyList<ReplicaRoute> vendor = d.FindReplicas("orders", 0x2201);
        ReplicaRoute a1 = Assert.Single(vendor);
        Assert.Equal(("a1", _a.Id, _n1, 2, 7 * Ms, false), (a1.Replica.Instance, a1.Origin, a1.NextHop, a1.Hops, a1.Rtt, a1.IsLocal));
        Assert.Equal("node-" + _a.Id.ShortForm, a1.OriginName);
        Assert.Equal(10, a1.Pressure);
        Assert.Equal(_clock.GetUtcNow() + TimeSpan.FromSeconds(30), a1.ExpiresAt);

        Assert.Equal(["a1", "b1"], d.FindReplicas("orders", 0x0100).Select(r => r.Replica.Instance).Order());
        Assert.Empty(d.FindReplicas("orders", 0x2202));
        Assert.Empty(d.FindReplicas("Orders", 0x2201));
        Assert.Single(d.FindReplicas("billing", 0x2201));

        ReplicaRoute local = Assert.Single(d.FindReplicas("local", Vendor));
        Assert.Equal((_self.Id, _self.Id, 0, TimeSpan.Zero, true), (local.Origin, local.NextHop, local.Hops, local.Rtt, local.IsLocal));
        Assert.Equal(4, d.AllReplicas().Count);
    }

    // ---------------------------------------------------------------- split horizon

    [Fact]
    public void AdvertisementsFor_Neighbor_OmitsOriginsRoutedThroughItAndItsOwnAnnouncement()
    {
        using NodeIdentity neighbor = NodeIdentity.Generate();
        ServiceDirectory d = NewDirectory(trust: Pinning(_self, _a, _b, _c, neighbor));
        NodeAnnouncement n = Announce(neighbor), a = Announce(_a), b = Announce(_b);
        d.ApplyAnnouncement(neighbor.Id, n, 1, Ms); // the neighbor itself
        d.ApplyAnnouncement(_n2, n, 3, Ms);         // ... also reachable another way
        d.ApplyAnnouncement(neighbor.Id, a, 2, Ms); // best via the neighbor
        d.ApplyAnnouncement(_n2, a, 3, Ms);
        d.ApplyAnnouncement(_n2, b, 2, 4 * Ms);     // via another neighbor
        d.ApplyAnnouncement(neighbor.Id, b, 4, Ms);
        Assert.Equal(0, d.Statistics.Ignored(IgnoredReason.BadSignature));

        var toNeighbor = d.AdvertisementsFor(neighbor.Id).ToDictionary(x => x.Announcement.Origin);
        Assert.Equal(new HashSet<NodeId> { _self.Id, _b.Id }, toNeighbor.Keys.ToHashSet());
        Assert.Equal((0, TimeSpan.Zero), (toNeighbor[_self.Id].Hops, toNeighbor[_self.Id].Rtt));
        Assert.Equal((2, 4 * Ms), (toNeighbor[_b.Id].Hops, toNeighbor[_b.Id].Rtt));

        var toN2 = d.AdvertisementsFor(_n2).ToDictionary(x => x.Announcement.Origin);
        Assert.Equal(3, toN2.Count);
        Assert.Equal(1, toN2[neighbor.Id].Hops);
        Assert.Equal(2, toN2[_a.Id].Hops);
        Assert.Contains(_self.Id, toN2.Keys);

        Assert.Null(d.AdvertisementFor(_a.Id, neighbor.Id));
        Assert.Null(d.AdvertisementFor(neighbor.Id, neighbor.Id));
        Assert.Equal(2, d.AdvertisementFor(_b.Id, neighbor.Id)?.Hops);
        Assert.Null(d.AdvertisementFor(_b.Id, _n2));
        Assert.Equal(2, d.AdvertisementFor(_a.Id, _n2)?.Hops);
        Assert.Equal(0, d.AdvertisementFor(_self.Id, neighbor.Id)?.Hops);
        Assert.Null(d.AdvertisementFor(_c.Id, _n2));
    }

    // ---------------------------------------------------------------- helpers

    private ServiceDirectory NewDirectory(DirectoryOptions? options = null, FabricTrust? trust = null)
    {
        options ??= new DirectoryOptions();
        var d = new ServiceDirectory(_self, trust ?? Pinning(_self, _a, _b, _c), options with { TimeProvider = _clock });
        d.SetLocal(NodeAnnouncement.Create(_self, 1, TimeSpan.FromSeconds(30), 0, "self", ["relay"], [Vendor], [Replica("local")]));
        return d;
    }

    private static void AssertBest(ServiceDirectory d, NodeId origin, NodeId nextHop, int hops, TimeSpan rtt)
    {
        Assert.True(d.TryGetOrigin(origin, out _, out NodeId actualNext, out int actualHops, out TimeSpan actualRtt), "origin not held");
        Assert.Equal((nextHop, hops, rtt), (actualNext, actualHops, actualRtt));
    }

    /// <summary>
    /// Applies <paramref name="announcement"/> from a fresh neighbor and checks it was ignored for exactly
    /// <paramref name="reason"/>: one counter moved, nothing else did, no origin or path changed.
    /// </summary>
    private void AssertIgnored(ServiceDirectory d, NodeAnnouncement announcement, int hops, IgnoredReason reason, bool verifies)
    {
        NodeId neighbor = RandomNodeId();
        string before = Snapshot(d);
        long[] ignored = [.. Enum.GetValues<IgnoredReason>().Select(d.Statistics.Ignored)];
        (long accepted, long withdrawn, long expired, long verified) = (d.Statistics.Accepted, d.Statistics.Withdrawn, d.Statistics.Expired, d.Statistics.SignaturesVerified);
        int origins = d.OriginCount;

        Assert.Equal(DirectoryChange.Ignored, d.ApplyAnnouncement(neighbor, announcement, hops, Ms));

        Assert.Equal(before, Snapshot(d));
        Assert.Equal(origins, d.OriginCount);
        foreach (IgnoredReason r in Enum.GetValues<IgnoredReason>())
        {
            Assert.True(ignored[(int)r] + (r == reason ? 1 : 0) == d.Statistics.Ignored(r), $"counter {r}: {ignored[(int)r]} -> {d.Statistics.Ignored(r)}");
        }

        Assert.Equal((accepted, withdrawn, expired, verified + (verifies ? 1 : 0)), (d.Statistics.Accepted, d.Statistics.Withdrawn, d.Statistics.Expired, d.Statistics.SignaturesVerified));
        (IReadOnlyList<NodeId> lost, IReadOnlyList<NodeId> changed) = d.NeighborLost(neighbor);
        Assert.Empty(lost);   // no path through that neighbor was recorded
        Assert.Empty(changed);
    }
}
