using System.Security.Cryptography;
using Fabric.Core.Discovery;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Discovery;

/// <summary>Shared builders for the discovery tests: identities, announcements, trust and directory snapshots.</summary>
internal static class DiscoveryKit
{
    public const ushort Vendor = 0x2201;

    private static readonly Lazy<NodeIdentity[]> Pool = new(() => [.. Enumerable.Range(0, 8).Select(_ => NodeIdentity.Generate())]);

    /// <summary>A few identities made once per test run (key generation is the slow part of a property).</summary>
    public static IReadOnlyList<NodeIdentity> SharedIdentities => Pool.Value;

    public static ServiceReplica Replica(string service, string instance = "i1", params ushort[] subprotocols)
        => new(service, instance, subprotocols.Length == 0 ? [Vendor] : subprotocols);

    public static NodeAnnouncement Announce(NodeIdentity origin, ulong sequence = 1, TimeSpan? ttl = null, params ServiceReplica[] replicas)
        => NodeAnnouncement.Create(origin, sequence, ttl ?? TimeSpan.FromSeconds(30), 10, "node-" + origin.Id.ShortForm, ["relay"], [0x0001, Vendor], replicas);

    /// <summary>The same origin and sequence as <see cref="Announce"/> but other content (another pressure).</summary>
    public static NodeAnnouncement AnnounceOther(NodeIdentity origin, ulong sequence, params ServiceReplica[] replicas)
        => NodeAnnouncement.Create(origin, sequence, TimeSpan.FromSeconds(30), 77, "node-" + origin.Id.ShortForm, ["relay"], [0x0001, Vendor], replicas);

    public static FabricTrust Pinning(params NodeIdentity[] identities) => new(pinnedPublicKeys: identities.Select(i => i.PublicKey));

    public static NodeId RandomNodeId() => NodeId.FromBytes(RandomNumberGenerator.GetBytes(NodeId.Size));

    /// <summary>Every origin held with its best path and announcement digest, in a stable order.</summary>
    public static string Snapshot(ServiceDirectory directory) => string.Join(
        "\n",
        directory.Origins()
            .Select(o => $"{o.Announcement.Origin} seq={o.Announcement.Sequence} sha={Convert.ToHexString(SHA256.HashData(o.Announcement.Encoded))[..16]} via={o.NextHop.ShortForm} hops={o.Hops} rtt={o.Rtt.Ticks}")
            .Order(StringComparer.Ordinal));

    /// <summary>Every counter of the directory, for before/after comparisons.</summary>
    public static string Counters(DirectoryStatistics s) =>
        $"accepted={s.Accepted} withdrawn={s.Withdrawn} expired={s.Expired} verified={s.SignaturesVerified} " +
        string.Join(" ", Enum.GetValues<IgnoredReason>().Select(r => $"{r}={s.Ignored(r)}"));

    public static byte[] Flip(byte[] bytes, int index, byte mask = 0x01)
    {
        byte[] copy = [.. bytes];
        copy[index] ^= mask;
        return copy;
    }
}
