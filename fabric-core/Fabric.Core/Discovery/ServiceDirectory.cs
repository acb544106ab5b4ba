using Fabric.Core.Security;

namespace Fabric.Core.Discovery;

/// <summary>What applying an update did, for the caller to propagate.</summary>
public enum DirectoryChange
{
    /// <summary>Not taken (see <see cref="DirectoryStatistics"/>).</summary>
    Ignored,

    /// <summary>Taken, but what this node would tell its neighbors is unchanged.</summary>
    Unchanged,

    /// <summary>A new origin, a newer announcement, or a different best path: tell the neighbors.</summary>
    Changed,

    /// <summary>The origin is no longer reachable: withdraw it from the neighbors.</summary>
    Lost,
}

/// <summary>
/// The service directory of one node: for every origin node, its newest signed announcement and the paths to it
/// through each neighbor (hops, accumulated RTT). The best path is the fewest hops, then the lowest RTT. An origin
/// disappears when its last path goes (neighbor lost or withdrawal) or when its TTL runs out. Thread-safe.
/// </summary>
public sealed class ServiceDirectory
{
    private readonly NodeIdentity _self;
    private readonly DirectoryOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<NodeId, OriginEntry> _origins = [];
    private volatile FabricTrust _trust;

    /// <summary>Creates an empty directory.</summary>
    public ServiceDirectory(NodeIdentity self, FabricTrust trust, DirectoryOptions? options = null)
    {
        _self = self;
        _trust = trust;
        _options = options ?? new DirectoryOptions();
    }

    /// <summary>Counters of taken and ignored updates.</summary>
    public DirectoryStatistics Statistics { get; } = new();

    /// <summary>The options in force.</summary>
    public DirectoryOptions Options => _options;

    /// <summary>The trust policy announcements are checked against; replace to reload.</summary>
    public FabricTrust Trust
    {
        get => _trust;
        set => _trust = value;
    }

    /// <summary>Origins held, this node included.</summary>
    public int OriginCount
    {
        get
        {
            lock (_lock)
            {
                return _origins.Count;
            }
        }
    }

    /// <summary>Replicas held, this node's included.</summary>
    public int ReplicaCount
    {
        get
        {
            lock (_lock)
            {
                return _origins.Values.Sum(o => o.Announcement.Replicas.Count);
            }
        }
    }

    /// <summary>Sets this node's own announcement (reachable at 0 hops).</summary>
    public void SetLocal(NodeAnnouncement announcement)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        if (announcement.Origin != _self.Id)
        {
            throw new ArgumentException("the local announcement must be this node's own", nameof(announcement));
        }

        lock (_lock)
        {
            _origins[_self.Id] = new OriginEntry(announcement, _options.TimeProvider.GetTimestamp(), isLocal: true);
        }
    }

    /// <summary>
    /// Takes an announcement a neighbor passed on (after <paramref name="hops"/> hops, <paramref name="rtt"/> along the
    /// path). Beyond <see cref="DirectoryOptions.MaxHops"/> it is ignored, and the path through that neighbor, if
    /// any, is dropped (the result is then <see cref="DirectoryChange.Changed"/> or <see cref="DirectoryChange.Lost"/>).
    /// </summary>
    public DirectoryChange ApplyAnnouncement(NodeId neighbor, NodeAnnouncement announcement, int hops, TimeSpan rtt)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        NodeId origin = announcement.Origin;
        if (origin == _self.Id)
        {
            return Ignore(IgnoredReason.ClaimsToBeSelf);
        }

        if (hops > _options.MaxHops)
        {
            // Beyond the limit the neighbor no longer reaches the origin (the hop-count "infinity" that ends a
            // counting loop): a path it gave before goes, or a dead origin would live on through its old distance.
            Statistics.OnIgnored(IgnoredReason.TooManyHops);
            lock (_lock)
            {
                DirectoryChange change = RemovePath(neighbor, origin, out bool removed);
                return removed ? change : DirectoryChange.Ignored;
            }
        }

        long now = _options.TimeProvider.GetTimestamp();
        OriginEntry? entry;
        lock (_lock)
        {
            _origins.TryGetValue(origin, out entry);
            if (entry is not null && announcement.Sequence < entry.Announcement.Sequence)
            {
                return Ignore(IgnoredReason.Stale);
            }

            if (entry is not null && announcement.Sequence == entry.Announcement.Sequence)
            {
                if (!announcement.Encoded.AsSpan().SequenceEqual(entry.Announcement.Encoded))
                {
                    // Same sequence, different content: only a forger (or a broken origin) does that.
                    return Ignore(IgnoredReason.BadSignature);
                }

                (NodeId, PathInfo) before = entry.BestPath;
                entry.Paths[neighbor] = new PathInfo(hops, rtt);
                return entry.BestPath != before ? DirectoryChange.Changed : DirectoryChange.Unchanged;
            }

            if (entry is null && _origins.Count >= _options.MaxOrigins)
            {
                return Ignore(IgnoredReason.TooManyOrigins);
            }
        }

        // A new origin or a newer sequence: check it outside the lock (signature verification is the cost here).
        IgnoredReason? problem = Check(announcement);
        if (problem is { } reason)
        {
            return Ignore(reason);
        }

        lock (_lock)
        {
            if (_origins.TryGetValue(origin, out OriginEntry? current) && current.Announcement.Sequence >= announcement.Sequence)
            {
                // Another neighbor's copy won the race (or a newer one came meanwhile).
                if (current.Announcement.Sequence > announcement.Sequence)
                {
                    return Ignore(IgnoredReason.Stale);
                }

                if (!announcement.Encoded.AsSpan().SequenceEqual(current.Announcement.Encoded))
                {
                    return Ignore(IgnoredReason.BadSignature);
                }

                (NodeId, PathInfo) before = current.BestPath;
                current.Paths[neighbor] = new PathInfo(hops, rtt);
                return current.BestPath != before ? DirectoryChange.Changed : DirectoryChange.Unchanged;
            }

            if (current is null && _origins.Count >= _options.MaxOrigins)
            {
                return Ignore(IgnoredReason.TooManyOrigins); // filled up while the signature was checked
            }

            var fresh = new OriginEntry(announcement, now, isLocal: false);
            if (current is not null)
            {
                foreach ((NodeId via, PathInfo path) in current.Paths)
                {
                    fresh.Paths[via] = path; // those neighbors still reach the origin; they will pass the new sequence on
                }
            }

            fresh.Paths[neighbor] = new PathInfo(hops, rtt);
            _origins[origin] = fresh;
        }

        Statistics.OnAccepted();
        return DirectoryChange.Changed;
    }

    /// <summary>A neighbor no longer reaches <paramref name="origin"/>.</summary>
    public DirectoryChange ApplyWithdrawal(NodeId neighbor, NodeId origin)
    {
        lock (_lock)
        {
            return RemovePath(neighbor, origin, out _);
        }
    }

    /// <summary>Drops the path to <paramref name="origin"/> through <paramref name="neighbor"/>, if any. Call under the lock.</summary>
    private DirectoryChange RemovePath(NodeId neighbor, NodeId origin, out bool removed)
    {
        removed = false;
        if (!_origins.TryGetValue(origin, out OriginEntry? entry) || entry.IsLocal || !entry.Paths.ContainsKey(neighbor))
        {
            return DirectoryChange.Unchanged;
        }

        (NodeId, PathInfo) before = entry.BestPath;
        entry.Paths.Remove(neighbor);
        removed = true;
        if (entry.Paths.Count == 0)
        {
            _origins.Remove(origin);
            Statistics.OnWithdrawn();
            return DirectoryChange.Lost;
        }

        return entry.BestPath != before ? DirectoryChange.Changed : DirectoryChange.Unchanged;
    }

    /// <summary>A neighbor's last link went down: drops every path through it. Returns origins lost and origins whose best path changed.</summary>
    public (IReadOnlyList<NodeId> Lost, IReadOnlyList<NodeId> Changed) NeighborLost(NodeId neighbor)
    {
        var lost = new List<NodeId>();
        var changed = new List<NodeId>();
        lock (_lock)
        {
            foreach ((NodeId origin, OriginEntry entry) in _origins)
            {
                if (entry.IsLocal || !entry.Paths.ContainsKey(neighbor))
                {
                    continue;
                }

                NodeId before = entry.BestNextHop;
                entry.Paths.Remove(neighbor);
                if (entry.Paths.Count == 0)
                {
                    lost.Add(origin);
                }
                else if (entry.BestNextHop != before)
                {
                    changed.Add(origin);
                }
            }

            foreach (NodeId origin in lost)
            {
                _origins.Remove(origin);
                Statistics.OnWithdrawn();
            }
        }

        return (lost, changed);
    }

    /// <summary>Removes origins whose TTL ran out without a newer announcement; returns them.</summary>
    public IReadOnlyList<NodeId> ExpireStale()
    {
        var expired = new List<NodeId>();
        long now = _options.TimeProvider.GetTimestamp();
        lock (_lock)
        {
            foreach ((NodeId origin, OriginEntry entry) in _origins)
            {
                if (!entry.IsLocal && _options.TimeProvider.GetElapsedTime(entry.ReceivedAt, now) > Ttl(entry.Announcement))
                {
                    expired.Add(origin);
                }
            }

            foreach (NodeId origin in expired)
            {
                _origins.Remove(origin);
                Statistics.OnExpired();
            }
        }

        return expired;
    }

    /// <summary>The replicas of <paramref name="service"/> reachable with <paramref name="subprotocol"/>, with their paths.</summary>
    public IReadOnlyList<ReplicaRoute> FindReplicas(string service, ushort subprotocol)
    {
        var routes = new List<ReplicaRoute>();
        DateTimeOffset wallNow = _options.TimeProvider.GetUtcNow();
        long now = _options.TimeProvider.GetTimestamp();
        lock (_lock)
        {
            foreach (OriginEntry entry in _origins.Values)
            {
                foreach (ServiceReplica replica in entry.Announcement.Replicas)
                {
                    if (replica.Service == service && replica.Subprotocols.Contains(subprotocol))
                    {
                        routes.Add(ToRoute(entry, replica, wallNow, now));
                    }
                }
            }
        }

        return routes;
    }

    /// <summary>Every replica held, for listings (admin API).</summary>
    public IReadOnlyList<ReplicaRoute> AllReplicas()
    {
        var routes = new List<ReplicaRoute>();
        DateTimeOffset wallNow = _options.TimeProvider.GetUtcNow();
        long now = _options.TimeProvider.GetTimestamp();
        lock (_lock)
        {
            foreach (OriginEntry entry in _origins.Values)
            {
                routes.AddRange(entry.Announcement.Replicas.Select(r => ToRoute(entry, r, wallNow, now)));
            }
        }

        return routes;
    }

    /// <summary>Every origin held with its best path (hops 0 for this node).</summary>
    public IReadOnlyList<(NodeAnnouncement Announcement, NodeId NextHop, int Hops, TimeSpan Rtt)> Origins()
    {
        lock (_lock)
        {
            return [.. _origins.Values.Select(e => (e.Announcement, e.IsLocal ? _self.Id : e.BestNextHop, e.IsLocal ? 0 : e.BestHops, e.IsLocal ? TimeSpan.Zero : e.BestRtt))];
        }
    }

    /// <summary>The announcement and best path of <paramref name="origin"/>, if held.</summary>
    public bool TryGetOrigin(NodeId origin, out NodeAnnouncement announcement, out NodeId nextHop, out int hops, out TimeSpan rtt)
    {
        lock (_lock)
        {
            if (_origins.TryGetValue(origin, out OriginEntry? entry))
            {
                announcement = entry.Announcement;
                nextHop = entry.IsLocal ? _self.Id : entry.BestNextHop;
                hops = entry.IsLocal ? 0 : entry.BestHops;
                rtt = entry.IsLocal ? TimeSpan.Zero : entry.BestRtt;
                return true;
            }
        }

        announcement = null!;
        nextHop = default;
        hops = 0;
        rtt = default;
        return false;
    }

    /// <summary>
    /// What this node should tell <paramref name="neighbor"/> about each origin: its best announcement with its best
    /// path, except origins whose best path runs through that neighbor (split horizon).
    /// </summary>
    public IReadOnlyList<(NodeAnnouncement Announcement, int Hops, TimeSpan Rtt)> AdvertisementsFor(NodeId neighbor)
    {
        lock (_lock)
        {
            var list = new List<(NodeAnnouncement, int, TimeSpan)>(_origins.Count);
            foreach (OriginEntry entry in _origins.Values)
            {
                if (entry.IsLocal)
                {
                    list.Add((entry.Announcement, 0, TimeSpan.Zero));
                }
                else if (entry.BestNextHop != neighbor && entry.Announcement.Origin != neighbor)
                {
                    list.Add((entry.Announcement, entry.BestHops, entry.BestRtt));
                }
            }

            return list;
        }
    }

    /// <summary>The advertisement of one origin for <paramref name="neighbor"/>, or null under split horizon.</summary>
    public (NodeAnnouncement Announcement, int Hops, TimeSpan Rtt)? AdvertisementFor(NodeId origin, NodeId neighbor)
    {
        lock (_lock)
        {
            if (!_origins.TryGetValue(origin, out OriginEntry? entry))
            {
                return null;
            }

            if (entry.IsLocal)
            {
                return (entry.Announcement, 0, TimeSpan.Zero);
            }

            return entry.BestNextHop == neighbor || origin == neighbor ? null : (entry.Announcement, entry.BestHops, entry.BestRtt);
        }
    }

    private IgnoredReason? Check(NodeAnnouncement announcement)
    {
        if (_options.KnownServices is { } known && announcement.Replicas.Any(r => !known.Contains(r.Service)))
        {
            return IgnoredReason.UnknownService;
        }

        Statistics.OnVerified();
        if (!announcement.VerifySignature())
        {
            return IgnoredReason.BadSignature;
        }

        return _trust.Evaluate(announcement.PublicKey, announcement.Certificate).Accepted ? null : IgnoredReason.Untrusted;
    }

    private DirectoryChange Ignore(IgnoredReason reason)
    {
        Statistics.OnIgnored(reason);
        return DirectoryChange.Ignored;
    }

    private TimeSpan Ttl(NodeAnnouncement announcement) => announcement.Ttl < _options.MaxTtl ? announcement.Ttl : _options.MaxTtl;

    private ReplicaRoute ToRoute(OriginEntry entry, ServiceReplica replica, DateTimeOffset wallNow, long now)
    {
        DateTimeOffset expires = entry.IsLocal ? DateTimeOffset.MaxValue : wallNow + Ttl(entry.Announcement) - _options.TimeProvider.GetElapsedTime(entry.ReceivedAt, now);
        return entry.IsLocal
            ? new ReplicaRoute(replica, entry.Announcement.Origin, entry.Announcement.Name, _self.Id, 0, TimeSpan.Zero, entry.Announcement.Pressure, true, expires)
            : new ReplicaRoute(replica, entry.Announcement.Origin, entry.Announcement.Name, entry.BestNextHop, entry.BestHops, entry.BestRtt, entry.Announcement.Pressure, false, expires);
    }

    private readonly record struct PathInfo(int Hops, TimeSpan Rtt);

    private sealed class OriginEntry(NodeAnnouncement announcement, long receivedAt, bool isLocal)
    {
        public NodeAnnouncement Announcement { get; } = announcement;

        public long ReceivedAt { get; } = receivedAt;

        public bool IsLocal { get; } = isLocal;

        public Dictionary<NodeId, PathInfo> Paths { get; } = [];

        public NodeId BestNextHop => Best().Key;

        /// <summary>The best next hop with its hops and RTT: what this node tells its neighbors.</summary>
        public (NodeId NextHop, PathInfo Path) BestPath
        {
            get
            {
                KeyValuePair<NodeId, PathInfo> best = Best();
                return (best.Key, best.Value);
            }
        }

        public int BestHops => Best().Value.Hops;

        public TimeSpan BestRtt => Best().Value.Rtt;

        private KeyValuePair<NodeId, PathInfo> Best()
        {
            KeyValuePair<NodeId, PathInfo> best = default;
            bool found = false;
            foreach (KeyValuePair<NodeId, PathInfo> path in Paths)
            {
                if (!found || path.Value.Hops < best.Value.Hops || path.Value.Hops == best.Value.Hops && path.Value.Rtt < best.Value.Rtt)
                {
                    best = path;
                    found = true;
                }
            }

            return best;
        }
    }
}
