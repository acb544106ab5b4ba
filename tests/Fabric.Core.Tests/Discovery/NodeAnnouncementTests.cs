using System.Text;
using Fabric.Core.Discovery;
using Fabric.Core.Security;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Core.Tests.Discovery;

/// <summary>
/// <see cref="NodeAnnouncement"/>: signed round trips of random announcements, tamper detection, and every limit of
/// <see cref="NodeAnnouncement.Parse"/> (docs/PROTOCOL.md §3.2), each probed at the limit and one past it.
/// </summary>
public class NodeAnnouncementTests
{
    private static readonly Gen<ServiceReplica> Replicas =
        from service in Utf8Gen.Text(1, 255)
        from instance in Utf8Gen.Text(1, 255)
        from subprotocolCount in Gen.Choose(0, 16)
        from subprotocols in Gen.ArrayOf(Gen.Choose(0, ushort.MaxValue).Select(i => (ushort)i), subprotocolCount)
        from weight in Gen.Choose(0, ushort.MaxValue)
        from priority in Gen.Choose(0, 255)
        from health in Gen.Choose(0, 3)
        select new ServiceReplica(service, instance, subprotocols, (ushort)weight, (byte)priority, (ReplicaHealth)health);

    /// <summary>Many replicas with short names, so that up to 256 of them fit in 64 KiB.</summary>
    private static readonly Gen<ServiceReplica> SmallReplicas =
        from service in Utf8Gen.Text(1, 12)
        from instance in Utf8Gen.Text(1, 12)
        from subprotocolCount in Gen.Choose(0, 16)
        from subprotocols in Gen.ArrayOf(Gen.Choose(0, ushort.MaxValue).Select(i => (ushort)i), subprotocolCount)
        from weight in Gen.Choose(0, ushort.MaxValue)
        from priority in Gen.Choose(0, 255)
        from health in Gen.Choose(0, 3)
        select new ServiceReplica(service, instance, subprotocols, (ushort)weight, (byte)priority, (ReplicaHealth)health);

    private static readonly Gen<ulong> Sequences = Gen.Frequency(
        (1, Gen.Elements(0ul, 1ul, (ulong)long.MaxValue, ulong.MaxValue)),
        (4, from hi in Gen.Choose(0, int.MaxValue) from lo in Gen.Choose(0, int.MaxValue) select ((ulong)hi << 33) ^ (ulong)lo));

    private static readonly Gen<AnnouncementCase> Cases =
        from identity in Gen.Choose(0, DiscoveryKit.SharedIdentities.Count - 1)
        from sequence in Sequences
        from ttl in Gen.Frequency((1, Gen.Elements(1, 2, 65535)), (3, Gen.Choose(1, 65535)))
        from pressure in Gen.Choose(0, 100)
        from name in Utf8Gen.Text(0, 255)
        from roleCount in Gen.Choose(0, 16)
        from roles in Gen.ArrayOf(Gen.Frequency((3, Gen.Elements("entry", "relay", "exit", "service-host")), (1, Utf8Gen.Text(0, 255))), roleCount)
        from capabilityCount in Gen.Frequency((3, Gen.Choose(0, 8)), (1, Gen.Choose(0, 256)), (1, Gen.Constant(256)))
        from capabilities in Gen.ArrayOf(Gen.Choose(0, ushort.MaxValue).Select(i => (ushort)i), capabilityCount)
        from certificateLength in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 1024)))
        from certificateSeed in Gen.Choose(0, int.MaxValue)
        from replicas in Gen.Frequency(
            (4, Gen.Choose(0, 8).SelectMany(n => Gen.ArrayOf(Replicas, n))),
            (1, Gen.Choose(0, 256).SelectMany(n => Gen.ArrayOf(SmallReplicas, n))),
            (1, Gen.ArrayOf(SmallReplicas, 256)))
        select new AnnouncementCase(identity, sequence, (ushort)ttl, (byte)pressure, name, roles, capabilities, Bytes(certificateLength, certificateSeed), replicas);

    [Fact]
    public void CreateParse_RandomAnnouncements_RoundTripWithValidSignature()
    {
        Verify(Prop.ForAll(Arb.From(Cases), c =>
        {
            NodeIdentity origin = DiscoveryKit.SharedIdentities[c.Identity];
            NodeAnnouncement created = c.Create();
            NodeAnnouncement parsed = NodeAnnouncement.Parse(created.Encoded);

            foreach (NodeAnnouncement a in (NodeAnnouncement[])[created, parsed])
            {
                Assert.Equal(origin.PublicKey, a.PublicKey);
                Assert.Equal(origin.Id, a.Origin);
                Assert.Equal(c.Sequence, a.Sequence);
                Assert.Equal(TimeSpan.FromSeconds(c.TtlSeconds), a.Ttl);
                Assert.Equal(c.Pressure, a.Pressure);
                Assert.Equal(c.Name, a.Name);
                Assert.Equal(c.Roles, a.Roles);
                Assert.Equal(c.Capabilities, a.Capabilities);
                Assert.Equal(c.Certificate, a.Certificate);
                Assert.Equal(c.Roles.Contains("relay"), a.IsRelay);
                Assert.Equal(c.Replicas.Length, a.Replicas.Count);
                for (int i = 0; i < c.Replicas.Length; i++)
                {
                    AssertSameReplica(c.Replicas[i], a.Replicas[i]);
                }

                Assert.True(a.VerifySignature());
            }

            Assert.Equal(created.Encoded, parsed.Encoded);
        }), 150);
    }

    [Fact]
    public void Create_AnyAnnouncement_SignedPartMatchesTheDocumentedLayout()
    {
        Verify(Prop.ForAll(Arb.From(Cases), c =>
        {
            NodeAnnouncement created = c.Create();
            var raw = new RawAnnouncement
            {
                PublicKey = DiscoveryKit.SharedIdentities[c.Identity].PublicKey,
                Sequence = c.Sequence,
                TtlSeconds = c.TtlSeconds,
                Pressure = c.Pressure,
                Name = RawAnnouncement.Utf8(c.Name),
                Roles = [.. c.Roles.Select(RawAnnouncement.Utf8)],
                Capabilities = [.. c.Capabilities],
                Certificate = c.Certificate,
                Replicas = [.. c.Replicas.Select(r => new RawReplica(RawAnnouncement.Utf8(r.Service), RawAnnouncement.Utf8(r.Instance), r.Weight, r.Priority, (byte)r.Health, r.Subprotocols))],
            };
            byte[] unsigned = raw.EncodeUnsigned();
            Assert.Equal(unsigned.Length + 64, created.Encoded.Length);
            Assert.Equal(unsigned, created.Encoded[..unsigned.Length]);
        }), 50);
    }

    [Fact]
    public void VerifySignature_AnySingleByteTampered_FailsOrDoesNotParse()
    {
        Gen<(AnnouncementCase, int, int)> gen =
            from c in Cases
            from position in Gen.Choose(0, int.MaxValue)
            from mask in Gen.Choose(1, 255)
            select (c, position, mask);
        Verify(Prop.ForAll(Arb.From(gen), t =>
        {
            (AnnouncementCase c, int position, int mask) = t;
            byte[] encoded = c.Create().Encoded;
            AssertRejected(DiscoveryKit.Flip(encoded, position % encoded.Length, (byte)mask), $"byte {position % encoded.Length} ^ 0x{mask:x2}");
        }), 150);
    }

    [Fact]
    public void VerifySignature_EveryByteFlipped_FailsOrDoesNotParse()
    {
        NodeIdentity origin = DiscoveryKit.SharedIdentities[0];
        NodeAnnouncement a = NodeAnnouncement.Create(origin, 42, TimeSpan.FromSeconds(30), 5, "nœud-ü", ["relay", "entry"], [0x0001, 0x2201], [new ServiceReplica("orders", "i-1", [0x0100, 0x2201], 7, 1, ReplicaHealth.Degraded)], [1, 2, 3]);
        Assert.True(a.VerifySignature());
        for (int i = 0; i < a.Encoded.Length; i++)
        {
            foreach (byte mask in (byte[])[0x01, 0x80, 0xFF])
            {
                AssertRejected(DiscoveryKit.Flip(a.Encoded, i, mask), $"byte {i} ^ 0x{mask:x2}");
            }
        }
    }

    [Fact]
    public void VerifySignature_SignatureOfAnotherOrigin_False()
    {
        RawAnnouncement raw = RawAnnouncement.SignedBy(DiscoveryKit.SharedIdentities[1]);
        raw.PublicKey = DiscoveryKit.SharedIdentities[2].PublicKey; // claims to be node 2, signed by node 1
        NodeAnnouncement a = NodeAnnouncement.Parse(raw.Encode());
        Assert.Equal(DiscoveryKit.SharedIdentities[2].Id, a.Origin);
        Assert.False(a.VerifySignature());
    }

    [Fact]
    public void VerifySignature_SignatureWithAnotherDomain_False()
    {
        NodeIdentity origin = DiscoveryKit.SharedIdentities[0];
        byte[] unsigned = RawAnnouncement.SignedBy(origin).EncodeUnsigned();
        byte[] encoded = [.. unsigned, .. origin.Sign("fabric-handshake/1"u8, unsigned)];
        NodeAnnouncement a = NodeAnnouncement.Parse(encoded);
        Assert.False(a.VerifySignature());
    }

    [Fact]
    public void Parse_IndependentlyEncodedAndSigned_AcceptedAndVerified()
    {
        RawAnnouncement raw = RawAnnouncement.SignedBy(DiscoveryKit.SharedIdentities[3]);
        raw.Sequence = 0x0102030405060708;
        raw.TtlSeconds = 600;
        raw.Pressure = 100;
        raw.Replicas = [new RawReplica("ß"u8.ToArray(), "é"u8.ToArray(), 65535, 255, 3, [0xFFFF, 0x0000])];
        NodeAnnouncement a = NodeAnnouncement.Parse(raw.Encode());
        Assert.True(a.VerifySignature());
        Assert.Equal(0x0102030405060708ul, a.Sequence);
        Assert.Equal(TimeSpan.FromMinutes(10), a.Ttl);
        Assert.Equal(100, a.Pressure);
        ServiceReplica r = Assert.Single(a.Replicas);
        Assert.Equal(("ß", "é", (ushort)65535, (byte)255, ReplicaHealth.Unhealthy), (r.Service, r.Instance, r.Weight, r.Priority, r.Health));
        Assert.Equal([(ushort)0xFFFF, (ushort)0x0000], r.Subprotocols);
    }

    // ---------------------------------------------------------------- limits

    [Theory]
    [InlineData(0, true)]
    [InlineData(16, true)]
    [InlineData(17, false)]
    [InlineData(255, false)]
    public void Parse_RoleCount_RefusedAbove16(int count, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.Roles = [.. Enumerable.Range(0, count).Select(i => RawAnnouncement.Utf8("r" + i))];
        AssertParse(raw, accepted, a => Assert.Equal(count, a.Roles.Count));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(256, true)]
    [InlineData(257, false)]
    [InlineData(65535, false)]
    public void Parse_CapabilityCount_RefusedAbove256(int count, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.Capabilities = [.. Enumerable.Range(0, count).Select(i => (ushort)i)];
        AssertParse(raw, accepted, a => Assert.Equal(count, a.Capabilities.Count));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(256, true)]
    [InlineData(257, false)]
    [InlineData(1000, false)]
    public void Parse_ReplicaCount_RefusedAbove256(int count, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.Replicas = [.. Enumerable.Range(0, count).Select(i => RawReplica.Valid("s", "i" + i))];
        AssertParse(raw, accepted, a => Assert.Equal(count, a.Replicas.Count));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(16, true)]
    [InlineData(17, false)]
    [InlineData(255, false)]
    public void Parse_SubprotocolsPerReplica_RefusedAbove16(int count, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.Replicas = [RawReplica.Valid(), RawReplica.Valid("s2") with { Subprotocols = [.. Enumerable.Range(1, count).Select(i => (ushort)i)] }];
        AssertParse(raw, accepted, a => Assert.Equal(count, a.Replicas[1].Subprotocols.Count));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(100, true)]
    [InlineData(101, false)]
    [InlineData(255, false)]
    public void Parse_Pressure_RefusedAbove100(int pressure, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.Pressure = (byte)pressure;
        AssertParse(raw, accepted, a => Assert.Equal(pressure, a.Pressure));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(65535, true)]
    public void Parse_Ttl_ZeroRefused(int seconds, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.TtlSeconds = (ushort)seconds;
        AssertParse(raw, accepted, a => Assert.Equal(TimeSpan.FromSeconds(seconds), a.Ttl));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(3, true)]
    [InlineData(4, false)]
    [InlineData(255, false)]
    public void Parse_ReplicaHealth_UnknownRefused(int health, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.Replicas = [RawReplica.Valid() with { Health = (byte)health }];
        AssertParse(raw, accepted, a => Assert.Equal((ReplicaHealth)health, a.Replicas[0].Health));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1024, true)]
    [InlineData(1025, false)]
    public void Parse_CertificateLength_RefusedAbove1024(int length, bool accepted)
    {
        RawAnnouncement raw = Valid();
        raw.Certificate = Bytes(length, length);
        AssertParse(raw, accepted, a => Assert.Equal(raw.Certificate, a.Certificate));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(255)]
    public void Parse_UnknownFormatVersion_FormatException(int version)
    {
        RawAnnouncement raw = Valid();
        raw.Version = (byte)version;
        Assert.Throws<FormatException>(() => NodeAnnouncement.Parse(raw.Encode()));
    }

    [Theory]
    [InlineData("", "i1")]
    [InlineData("orders", "")]
    [InlineData("", "")]
    public void Parse_EmptyServiceOrInstance_FormatException(string service, string instance)
    {
        RawAnnouncement raw = Valid();
        raw.Replicas = [RawReplica.Valid(), RawReplica.Valid(service, instance)];
        Assert.Throws<FormatException>(() => NodeAnnouncement.Parse(raw.Encode()));
    }

    public static TheoryData<string, string> BadUtf8 => new()
    {
        { "name", "C3" },          // truncated 2-byte sequence
        { "name", "FF" },          // never valid
        { "role", "C080" },        // overlong NUL
        { "role", "EDA080" },      // UTF-16 surrogate
        { "service", "F4908080" }, // above U+10FFFF
        { "service", "80" },       // lone continuation
        { "instance", "E282" },    // truncated 3-byte sequence
        { "instance", "61F09F99" }, // truncated 4-byte sequence after ASCII
    };

    [Theory]
    [MemberData(nameof(BadUtf8))]
    public void Parse_InvalidUtf8InAnyText_FormatException(string field, string hex)
    {
        byte[] bad = Convert.FromHexString(hex);
        RawAnnouncement raw = Valid();
        switch (field)
        {
            case "name":
                raw.Name = bad;
                break;
            case "role":
                raw.Roles = ["relay"u8.ToArray(), bad];
                break;
            case "service":
                raw.Replicas = [RawReplica.Valid() with { Service = bad }];
                break;
            default:
                raw.Replicas = [RawReplica.Valid() with { Instance = bad }];
                break;
        }

        Assert.Throws<FormatException>(() => NodeAnnouncement.Parse(raw.Encode()));
    }

    [Fact]
    public void Parse_EveryTruncation_FormatException()
    {
        NodeAnnouncement a = NodeAnnouncement.Create(DiscoveryKit.SharedIdentities[0], 9, TimeSpan.FromSeconds(30), 1, "n€", ["relay"], [1, 2], [new ServiceReplica("orders", "i1", [0x2201, 0x2202]), new ServiceReplica("billing", "b", [])], [9, 9]);
        for (int length = 0; length < a.Encoded.Length; length++)
        {
            int l = length;
            Assert.Throws<FormatException>(() => NodeAnnouncement.Parse(a.Encoded.AsSpan(0, l)));
        }

        Assert.Equal(a.Encoded, NodeAnnouncement.Parse(a.Encoded).Encoded);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    public void Parse_TrailingBytes_FormatException(int extra)
    {
        RawAnnouncement raw = Valid();
        raw.Trailer = new byte[extra];
        Assert.Throws<FormatException>(() => NodeAnnouncement.Parse(raw.Encode()));
    }

    [Theory]
    [InlineData(NodeAnnouncement.MaxSize, true)]
    [InlineData(NodeAnnouncement.MaxSize + 1, false)]
    public void Parse_EncodedSize_RefusedAbove64KiB(int size, bool accepted)
    {
        RawAnnouncement raw = OfSize(size);
        byte[] encoded = raw.Encode();
        Assert.Equal(size, encoded.Length);
        if (accepted)
        {
            Assert.True(NodeAnnouncement.Parse(encoded).VerifySignature());
        }
        else
        {
            Assert.Throws<FormatException>(() => NodeAnnouncement.Parse(encoded));
        }
    }

    [Fact]
    public void Create_LimitsBroken_Throws()
    {
        NodeIdentity origin = DiscoveryKit.SharedIdentities[0];
        Assert.Throws<FormatException>(() => NodeAnnouncement.Create(origin, 1, TimeSpan.FromSeconds(30), 0, "n", [.. Enumerable.Repeat("r", 17)], [], []));
        Assert.Throws<FormatException>(() => NodeAnnouncement.Create(origin, 1, TimeSpan.FromSeconds(30), 0, "n", [], [], [new ServiceReplica("", "i", [])]));
        Assert.Throws<ArgumentException>(() => NodeAnnouncement.Create(origin, 1, TimeSpan.FromSeconds(30), 0, new string('n', 256), [], [], []));
    }

    [Fact]
    public void Create_OutOfRangeTtlAndPressure_Clamped()
    {
        NodeIdentity origin = DiscoveryKit.SharedIdentities[0];
        Assert.Equal(TimeSpan.FromSeconds(1), NodeAnnouncement.Create(origin, 1, TimeSpan.Zero, 0, "n", [], [], []).Ttl);
        Assert.Equal(TimeSpan.FromSeconds(1), NodeAnnouncement.Create(origin, 1, TimeSpan.FromSeconds(-5), 0, "n", [], [], []).Ttl);
        Assert.Equal(TimeSpan.FromSeconds(65535), NodeAnnouncement.Create(origin, 1, TimeSpan.FromDays(3), 0, "n", [], [], []).Ttl);
        Assert.Equal(100, NodeAnnouncement.Create(origin, 1, TimeSpan.FromSeconds(30), 250, "n", [], [], []).Pressure);
    }

    // ---------------------------------------------------------------- helpers

    private static RawAnnouncement Valid() => RawAnnouncement.SignedBy(DiscoveryKit.SharedIdentities[0]);

    /// <summary>A well-formed, correctly signed announcement of exactly <paramref name="size"/> bytes.</summary>
    private static RawAnnouncement OfSize(int size)
    {
        RawAnnouncement raw = Valid();
        var big = new RawReplica(Enumerable.Repeat((byte)'s', 255).ToArray(), Enumerable.Repeat((byte)'i', 255).ToArray(), 1, 0, 0, []);
        raw.Replicas = [];
        while (raw.EncodeUnsigned().Length + 64 + 517 <= size)
        {
            raw.Replicas.Add(big with { Instance = [.. big.Instance[..250], .. Encoding.ASCII.GetBytes($"{raw.Replicas.Count:d5}")] });
        }

        raw.Certificate = new byte[size - raw.EncodeUnsigned().Length - 64];
        Assert.InRange(raw.Certificate.Length, 0, 1024);
        return raw;
    }

    private static void AssertParse(RawAnnouncement raw, bool accepted, Action<NodeAnnouncement> check)
    {
        byte[] encoded = raw.Encode();
        if (accepted)
        {
            NodeAnnouncement a = NodeAnnouncement.Parse(encoded);
            Assert.True(a.VerifySignature());
            check(a);
        }
        else
        {
            Assert.Throws<FormatException>(() => NodeAnnouncement.Parse(encoded));
        }
    }

    private static void AssertRejected(byte[] tampered, string what)
    {
        NodeAnnouncement parsed;
        try
        {
            parsed = NodeAnnouncement.Parse(tampered);
        }
        catch (FormatException)
        {
            return;
        }

        Assert.False(parsed.VerifySignature(), $"tampered announcement ({what}) still verifies");
    }

    private static void AssertSameReplica(ServiceReplica expected, ServiceReplica actual)
    {
        Assert.Equal(expected.Service, actual.Service);
        Assert.Equal(expected.Instance, actual.Instance);
        Assert.Equal(expected.Weight, actual.Weight);
        Assert.Equal(expected.Priority, actual.Priority);
        Assert.Equal(expected.Health, actual.Health);
        Assert.Equal(expected.Subprotocols, actual.Subprotocols);
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new System.Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static void Verify(Property property, int maxTest) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithQuietOnSuccess(true), property);

    /// <summary>One generated announcement; ToString keeps FsCheck's counterexample short.</summary>
    public sealed record AnnouncementCase(int Identity, ulong Sequence, ushort TtlSeconds, byte Pressure, string Name, string[] Roles, ushort[] Capabilities, byte[] Certificate, ServiceReplica[] Replicas)
    {
        public NodeAnnouncement Create() => NodeAnnouncement.Create(DiscoveryKit.SharedIdentities[Identity], Sequence, TimeSpan.FromSeconds(TtlSeconds), Pressure, Name, Roles, Capabilities, Replicas, Certificate);

        public override string ToString() =>
            $"Announcement(id {Identity}, seq {Sequence}, ttl {TtlSeconds}, pressure {Pressure}, name {Encoding.UTF8.GetByteCount(Name)} B, {Roles.Length} roles, {Capabilities.Length} caps, cert {Certificate.Length} B, {Replicas.Length} replicas)";
    }
}
