using System.Buffers.Binary;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

/// <summary>
/// A trusted neighbor that lies on its control stream: every lie is ignored and counted in the node's directory
/// statistics, nothing of it is passed on, and the real directory keeps working. Node n only knows service "svc";
/// real node b hosts a replica of it; c is linked to n to see what n passes on.
/// </summary>
public class LyingNodeTests
{
    private static readonly ushort Echo = CoreSubprotocols.Echo;

    private static async Task<(NodeCluster Cluster, FakeNeighbor Liar)> StartAsync()
    {
        var cluster = new NodeCluster("n", "b", "c", "liar", "forged-origin");
        try
        {
            FabricNode n = await cluster.StartAsync("n", configure: o => o with { Directory = o.Directory with { KnownServices = new HashSet<string> { "svc" } } });
            FabricNode b = await cluster.StartAsync("b", ["n"]);
            await cluster.StartAsync("c", ["n"]);
            b.AddLocalService(new ServiceReplica("svc", "b1", [Echo]));
            await cluster.ReplicasAsync("n", "svc", Echo, 1);
            await cluster.ReplicasAsync("c", "svc", Echo, 1);
            FakeNeighbor liar = cluster.Own(await FakeNeighbor.ConnectAsync(cluster.Identity("liar"), cluster.Trust, n));
            await Eventually.TrueAsync(() => liar.Received.Any(m => m.Type == ControlMessageType.Manifest), "n answers the control stream with its manifest", TestTimeouts.Long);
            return (cluster, liar);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static NodeAnnouncement Announcement(NodeIdentity origin, ulong sequence, string service = "svc", string name = "liar")
        => NodeAnnouncement.Create(origin, sequence, TimeSpan.FromSeconds(30), 0, name, ["relay"], [Echo], [new ServiceReplica(service, "evil", [Echo])]);

    /// <summary>The lie was counted, never taken or passed on, the liar kept its control stream, and the real replica still serves.</summary>
    private static async Task AssertIgnoredAsync(NodeCluster cluster, FakeNeighbor liar, IgnoredReason reason, long before, NodeId? liedAbout = null)
    {
        FabricNode n = cluster["n"];
        await Eventually.TrueAsync(() => n.Directory.Statistics.Ignored(reason) > before, $"n counts the lie as {reason}", TestTimeouts.Long);
        Assert.Equal(before + 1, n.Directory.Statistics.Ignored(reason));
        Assert.DoesNotContain(n.Directory.AllReplicas(), r => r.Replica.Instance == "evil");
        Assert.DoesNotContain(cluster["c"].Directory.AllReplicas(), r => r.Replica.Instance == "evil");
        if (liedAbout is { } id && id != cluster.Identity("b").Id)
        {
            Assert.False(n.Directory.TryGetOrigin(id, out _, out _, out _, out _));
        }

        Assert.True(liar.ControlOpen);
        await cluster.OpenAndEchoAsync("n", "svc", Echo);
        await cluster.OpenAndEchoAsync("c", "svc", Echo);

        // Gossip still flows: a new real replica reaches n and, through it, c.
        string instance = $"b-{Guid.NewGuid():N}"[..12];
        cluster["b"].AddLocalService(new ServiceReplica("svc", instance, [Echo]));
        await Eventually.TrueAsync(() => cluster["c"].Directory.FindReplicas("svc", Echo).Any(r => r.Replica.Instance == instance), "a new real replica reaches c through n", TestTimeouts.Long);
    }

    [Fact]
    public async Task ControlStream_AnnouncementWithBadSignature_IgnoredAndCounted()
    {
        (NodeCluster cluster, FakeNeighbor liar) = await StartAsync();
        await using (cluster)
        {
            long before = cluster["n"].Directory.Statistics.Ignored(IgnoredReason.BadSignature);
            NodeAnnouncement genuine = Announcement(cluster.Identity("forged-origin"), 1);
            byte[] forged = genuine.Encoded.ToArray();
            forged[^1] ^= 0x5a; // the signature no longer matches

            await liar.AnnounceRawAsync(forged);

            await AssertIgnoredAsync(cluster, liar, IgnoredReason.BadSignature, before, cluster.Identity("forged-origin").Id);
        }
    }

    [Fact]
    public async Task ControlStream_AlteredAnnouncementOfRealNode_IgnoredAndRealOneKept()
    {
        (NodeCluster cluster, FakeNeighbor liar) = await StartAsync();
        await using (cluster)
        {
            FabricNode n = cluster["n"];
            NodeId b = cluster.Identity("b").Id;
            Assert.True(n.Directory.TryGetOrigin(b, out NodeAnnouncement real, out _, out _, out _));
            long before = n.Directory.Statistics.Ignored(IgnoredReason.BadSignature);

            // b's real announcement with a higher sequence and b's signature left as it was.
            byte[] altered = real.Encoded.ToArray();
            int sequenceOffset = 1 + PublicKeys.Size;
            BinaryPrimitives.WriteUInt64BigEndian(altered.AsSpan(sequenceOffset), real.Sequence + 1000);
            await liar.AnnounceRawAsync(altered);

            await AssertIgnoredAsync(cluster, liar, IgnoredReason.BadSignature, before, b);
            Assert.True(n.Directory.TryGetOrigin(b, out NodeAnnouncement held, out NodeId nextHop, out _, out _));
            Assert.True(held.Sequence < real.Sequence + 1000);
            Assert.Equal(b, nextHop);
        }
    }

    [Fact]
    public async Task ControlStream_AnnouncementOfUntrustedOrigin_IgnoredAndCounted()
    {
        (NodeCluster cluster, FakeNeighbor liar) = await StartAsync();
        await using (cluster)
        {
            long before = cluster["n"].Directory.Statistics.Ignored(IgnoredReason.Untrusted);
            using NodeIdentity stranger = NodeIdentity.Generate();

            await liar.AnnounceAsync(Announcement(stranger, 1, name: "stranger"));

            await AssertIgnoredAsync(cluster, liar, IgnoredReason.Untrusted, before, stranger.Id);
        }
    }

    [Fact]
    public async Task ControlStream_AnnouncementOfUnknownService_IgnoredAndCounted()
    {
        (NodeCluster cluster, FakeNeighbor liar) = await StartAsync();
        await using (cluster)
        {
            long before = cluster["n"].Directory.Statistics.Ignored(IgnoredReason.UnknownService);

            // Properly signed by a trusted node (the liar itself), but for a service n does not know.
            await liar.AnnounceAsync(Announcement(cluster.Identity("liar"), 1, service: "not-a-known-service"));

            await AssertIgnoredAsync(cluster, liar, IgnoredReason.UnknownService, before, cluster.Identity("liar").Id);
        }
    }

    [Fact]
    public async Task ControlStream_AnnouncementWithAbsurdCounts_IgnoredAsMalformed()
    {
        (NodeCluster cluster, FakeNeighbor liar) = await StartAsync();
        await using (cluster)
        {
            FabricNode n = cluster["n"];
            long before = n.Directory.Statistics.Ignored(IgnoredReason.Malformed);

            // version, key, sequence, TTL, pressure, empty name, no roles, then 65535 capabilities with none following.
            NodeIdentity liarKey = cluster.Identity("liar");
            byte[] absurd = new byte[1 + PublicKeys.Size + 8 + 2 + 1 + 1 + 1 + 2];
            absurd[0] = 1;
            liarKey.PublicKey.CopyTo(absurd, 1);
            int offset = 1 + PublicKeys.Size;
            BinaryPrimitives.WriteUInt64BigEndian(absurd.AsSpan(offset), 1);
            BinaryPrimitives.WriteUInt16BigEndian(absurd.AsSpan(offset + 8), 30);
            BinaryPrimitives.WriteUInt16BigEndian(absurd.AsSpan(offset + 8 + 2 + 1 + 1 + 1), ushort.MaxValue);
            await liar.AnnounceRawAsync(absurd);
            await AssertIgnoredAsync(cluster, liar, IgnoredReason.Malformed, before, liarKey.Id);

            // A real announcement with its replica count raised to 65535.
            NodeAnnouncement genuine = Announcement(liarKey, 2);
            byte[] manyReplicas = genuine.Encoded.ToArray();
            int replicaCountOffset = manyReplicas.Length - 64 - (2 + 1 + 3 + 1 + 4 + 2 + 1 + 1 + 1 + 2);
            Assert.Equal(1, BinaryPrimitives.ReadUInt16BigEndian(manyReplicas.AsSpan(replicaCountOffset)));
            BinaryPrimitives.WriteUInt16BigEndian(manyReplicas.AsSpan(replicaCountOffset), ushort.MaxValue);
            await liar.AnnounceRawAsync(manyReplicas);
            await AssertIgnoredAsync(cluster, liar, IgnoredReason.Malformed, before + 1, liarKey.Id);

            // A WITHDRAW whose body is not a node id.
            await liar.SendAsync(FakeNeighbor.Frame(ControlMessageType.Withdraw, new byte[5]));
            await AssertIgnoredAsync(cluster, liar, IgnoredReason.Malformed, before + 2, liarKey.Id);
        }
    }
}
