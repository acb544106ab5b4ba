using Fabric.Core.Subprotocols;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Core.Tests.Subprotocols;

/// <summary>
/// <see cref="SubprotocolRegistry"/>, <see cref="SubprotocolDescriptor"/> and <see cref="SubprotocolVersion"/>
/// (docs/SUBPROTOCOLS.md): id ranges, registration rules, capability tags, negotiation and versions.
/// </summary>
public class SubprotocolRegistryTests
{
    // ---------------------------------------------------------------- ranges and registration

    [Theory]
    [InlineData(0x0000, SubprotocolRange.Reserved)]
    [InlineData(0x0001, SubprotocolRange.Core)]
    [InlineData(0x0100, SubprotocolRange.Core)]
    [InlineData(0x21FF, SubprotocolRange.Core)]
    [InlineData(0x2200, SubprotocolRange.Vendor)]
    [InlineData(0xEFFF, SubprotocolRange.Vendor)]
    [InlineData(0xF000, SubprotocolRange.Experimental)]
    [InlineData(0xFFFF, SubprotocolRange.Experimental)]
    public void RangeOf_Boundaries_RightRange(int id, SubprotocolRange expected)
    {
        Assert.Equal(expected, SubprotocolDescriptor.RangeOf((ushort)id));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Register_Reserved0x0000_Refused(bool allowCore)
    {
        var registry = new SubprotocolRegistry();
        Assert.Throws<ArgumentException>(() => registry.Register(D(0x0000), allowCore));
        Assert.Empty(registry.Descriptors);
    }

    [Theory]
    [InlineData(0x0001)]
    [InlineData(0x0103)]
    [InlineData(0x21FF)]
    public void Register_CoreIdWithoutAllowCore_RefusedWithAllowCoreAccepted(int id)
    {
        var registry = new SubprotocolRegistry();
        Assert.Throws<ArgumentException>(() => registry.Register(D((ushort)id)));
        Assert.Null(registry.Find((ushort)id));

        registry.Register(D((ushort)id), allowCore: true);
        Assert.Equal((ushort)id, registry.Find((ushort)id)?.Id);
    }

    [Theory]
    [InlineData(0x2200)]
    [InlineData(0x2201)]
    [InlineData(0xEFFF)]
    [InlineData(0xF000)]
    [InlineData(0xFFFF)]
    public void Register_VendorOrExperimentalId_Accepted(int id)
    {
        var registry = new SubprotocolRegistry();
        SubprotocolDescriptor d = D((ushort)id);

        registry.Register(d);

        Assert.Same(d, registry.Find((ushort)id));
        Assert.Single(registry.Descriptors);
    }

    [Fact]
    public void Register_DuplicateId_RefusedFirstKept()
    {
        var registry = new SubprotocolRegistry();
        SubprotocolDescriptor first = D(0x2201, "first");
        registry.Register(first);

        Assert.Throws<InvalidOperationException>(() => registry.Register(D(0x2201, "second")));
        Assert.Throws<InvalidOperationException>(() => registry.Register(D(0x2201, "first")));
        Assert.Same(first, registry.Find(0x2201));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\n")]
    [InlineData("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")] // 65 bytes
    [InlineData("€€€€€€€€€€€€€€€€€€€€€€")] // 22 characters, 66 bytes
    public void Register_BadName_Refused(string? name)
    {
        var registry = new SubprotocolRegistry();
        Assert.Throws<ArgumentException>(() => registry.Register(D(0x2201, name!)));
        Assert.Null(registry.Find(0x2201));
    }

    [Theory]
    [InlineData("n")]
    [InlineData("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn")] // 64 bytes
    [InlineData("€€€€€€€€€€€€€€€€€€€€€n")] // 64 bytes
    public void Register_NameUpTo64Bytes_Accepted(string name)
    {
        var registry = new SubprotocolRegistry();
        registry.Register(D(0x2201, name));
        Assert.Equal(name, registry.Find(0x2201)?.Name);
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(1, 9, 2, 0)]
    [InlineData(0, 0, 0, 1)]
    public void Register_MinCompatibleAboveVersion_Refused(int major, int minor, int minMajor, int minMinor)
    {
        var registry = new SubprotocolRegistry();
        Assert.Throws<ArgumentException>(() => registry.Register(D(0x2201, "n", V(major, minor), V(minMajor, minMinor))));
        registry.Register(D(0x2202, "n", V(major, minor), V(major, minor)));
        Assert.NotNull(registry.Find(0x2202));
    }

    [Fact]
    public void Unregister_Registered_RemovedAndIdFreeAgain()
    {
        var registry = new SubprotocolRegistry();
        registry.Register(D(0x2201));
        registry.Register(D(0x2202));

        Assert.True(registry.Unregister(0x2201));
        Assert.False(registry.Unregister(0x2201));
        Assert.False(registry.Unregister(0x3333));

        Assert.Null(registry.Find(0x2201));
        Assert.Equal(["subprotocol:0x2202"], registry.CapabilityTags());
        registry.Register(D(0x2201, "again"));
        Assert.Equal("again", registry.Find(0x2201)?.Name);
    }

    [Fact]
    public void Register_ConcurrentDistinctIds_AllKept()
    {
        var registry = new SubprotocolRegistry();
        Parallel.For(0, 400, i => registry.Register(D((ushort)(0x2200 + i))));
        Assert.Equal(400, registry.Descriptors.Count);
        Assert.Equal(400, registry.CapabilityTags().Distinct().Count());
    }

    // ---------------------------------------------------------------- capability tags and manifest

    [Theory]
    [InlineData(0x0001, "subprotocol:0x0001")]
    [InlineData(0x0100, "subprotocol:0x0100")]
    [InlineData(0x2201, "subprotocol:0x2201")]
    [InlineData(0xABCD, "subprotocol:0xabcd")]
    [InlineData(0xFFFF, "subprotocol:0xffff")]
    public void CapabilityTag_Id_FourHexDigits(int id, string expected)
    {
        Assert.Equal(expected, SubprotocolDescriptor.CapabilityTagFor((ushort)id));
        Assert.Equal(expected, D((ushort)id).CapabilityTag);
    }

    [Fact]
    public void CapabilityTagsAndManifest_SeveralRegistered_OrderedById()
    {
        var registry = new SubprotocolRegistry();
        foreach (ushort id in (ushort[])[0xF00D, 0x2201, 0x0001, 0x0100])
        {
            registry.Register(D(id), allowCore: true);
        }

        Assert.Equal(["subprotocol:0x0001", "subprotocol:0x0100", "subprotocol:0x2201", "subprotocol:0xf00d"], registry.CapabilityTags());
        Assert.Equal([(ushort)0x0001, (ushort)0x0100, (ushort)0x2201, (ushort)0xF00D], registry.Manifest().Descriptors.Select(d => d.Id));
    }

    // ---------------------------------------------------------------- negotiation

    public static TheoryData<string, string, string, string, bool> Compatibility => new()
    {
        // ours version, ours min, theirs version, theirs min, compatible
        { "1.0", "1.0", "1.0", "1.0", true },
        { "1.5", "1.0", "1.0", "1.0", true },
        { "1.5", "1.2", "1.1", "1.0", false },   // their 1.1 is below our minimum 1.2
        { "1.5", "1.2", "1.2", "1.0", true },    // exactly our minimum
        { "1.1", "1.0", "1.5", "1.2", false },   // our 1.1 is below their minimum
        { "1.2", "1.0", "1.5", "1.2", true },
        { "2.0", "2.0", "1.255", "1.0", false }, // a major step raised the minimum
        { "2.0", "1.0", "1.9", "1.0", true },    // a major step that kept old peers
        { "1.9", "1.0", "2.0", "2.0", false },
        { "1.255", "1.0", "2.0", "1.255", true },
        { "2.0", "1.9", "1.10", "1.0", true },   // minors compare as numbers: 10 > 9
        { "2.0", "1.10", "1.9", "1.0", false },
        { "0.0", "0.0", "255.255", "0.0", true },
        { "255.255", "255.255", "255.254", "0.0", false },
    };

    [Theory]
    [MemberData(nameof(Compatibility))]
    public void Negotiate_VersionTable_CompatibleWhenEachVersionReachesTheOthersMinimum(string ours, string oursMin, string theirs, string theirsMin, bool compatible)
    {
        var us = new SubprotocolRegistry();
        us.Register(D(0x2201, "p", SubprotocolVersion.Parse(ours), SubprotocolVersion.Parse(oursMin)));
        var them = new SubprotocolRegistry();
        them.Register(D(0x2201, "p", SubprotocolVersion.Parse(theirs), SubprotocolVersion.Parse(theirsMin)));

        NegotiatedSubprotocols mine = us.Negotiate(them.Manifest());
        NegotiatedSubprotocols theirView = them.Negotiate(us.Manifest());

        foreach (NegotiatedSubprotocols n in (NegotiatedSubprotocols[])[mine, theirView])
        {
            Assert.Equal(compatible, n.Supports(0x2201));
            Assert.Equal(!compatible, n.IsIncompatible(0x2201));
            Assert.Equal(compatible ? 1 : 0, n.Agreed.Count);
        }
    }

    [Fact]
    public void Negotiate_MixedManifests_AgreedIncompatibleAndUnknownSeparated()
    {
        var us = new SubprotocolRegistry();
        us.Register(D(0x0001, "control"), allowCore: true);
        us.Register(D(0x2201, "vendor", V(1, 3), V(1, 0)));
        us.Register(D(0x2202, "old", V(1, 0), V(1, 0)));
        us.Register(D(0xF001, "only-ours"));
        var peer = new SubprotocolManifest(
        [
            D(0x0001, "control"),
            D(0x2201, "vendor", V(1, 1), V(1, 1)),
            D(0x2202, "old", V(3, 0), V(3, 0)),
            D(0xF002, "only-theirs"),
        ]);

        NegotiatedSubprotocols n = us.Negotiate(peer);

        Assert.True(n.Supports(0x0001));
        Assert.True(n.Supports(0x2201));
        Assert.False(n.Supports(0x2202));
        Assert.True(n.IsIncompatible(0x2202));
        foreach (ushort unknown in (ushort[])[0xF001, 0xF002, 0x3333])
        {
            Assert.False(n.Supports(unknown));
            Assert.False(n.IsIncompatible(unknown));
        }

        Assert.Equal([(ushort)0x0001, (ushort)0x2201], n.Agreed.Select(d => d.Id).Order());
        Assert.Equal(V(1, 1), n.Agreed.Single(d => d.Id == 0x2201).Version); // the peer's descriptor
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Negotiate_PeerListsAnIdTwice_LastEntryCountsNeverBoth(bool compatibleLast)
    {
        var us = new SubprotocolRegistry();
        us.Register(D(0x2201, "p", V(1, 0), V(1, 0)));
        SubprotocolDescriptor good = D(0x2201, "p", V(1, 0), V(1, 0)), bad = D(0x2201, "p", V(2, 0), V(2, 0));

        NegotiatedSubprotocols n = us.Negotiate(new SubprotocolManifest(compatibleLast ? [bad, good] : [good, bad]));

        Assert.Equal(compatibleLast, n.Supports(0x2201));
        Assert.Equal(!compatibleLast, n.IsIncompatible(0x2201));
        Assert.Equal(compatibleLast ? 1 : 0, n.Agreed.Count);
    }

    [Fact]
    public void Negotiate_NoneYet_SupportsNothing()
    {
        Assert.False(NegotiatedSubprotocols.None.Supports(0x0001));
        Assert.False(NegotiatedSubprotocols.None.IsIncompatible(0x0001));
        Assert.Empty(NegotiatedSubprotocols.None.Agreed);
        Assert.Empty(new SubprotocolRegistry().Negotiate(new SubprotocolManifest([D(0x2201)])).Agreed);
    }

    [Fact]
    public void Negotiate_RandomVersions_SymmetricAndMatchesTheRule()
    {
        Gen<(SubprotocolVersion, SubprotocolVersion)> pair =
            from a in Gen.Choose(0, 3)
            from b in Gen.Choose(0, 3)
            from c in Gen.Choose(0, 3)
            from d in Gen.Choose(0, 3)
            let x = V(a, b)
            let y = V(c, d)
            select x >= y ? (x, y) : (y, x);
        Property property = Prop.ForAll(Arb.From(pair), Arb.From(pair), (ours, theirs) =>
        {
            var us = new SubprotocolRegistry();
            us.Register(D(0x2201, "p", ours.Item1, ours.Item2));
            var them = new SubprotocolRegistry();
            them.Register(D(0x2201, "p", theirs.Item1, theirs.Item2));
            bool expected = Key(ours.Item1) >= Key(theirs.Item2) && Key(theirs.Item1) >= Key(ours.Item2);

            Assert.Equal(expected, us.Negotiate(them.Manifest()).Supports(0x2201));
            Assert.Equal(expected, them.Negotiate(us.Manifest()).Supports(0x2201));
            Assert.Equal(expected, D(0x2201, "p", ours.Item1, ours.Item2).IsCompatibleWith(D(0x2201, "p", theirs.Item1, theirs.Item2)));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void IsCompatibleWith_OtherId_False()
    {
        Assert.False(D(0x2201).IsCompatibleWith(D(0x2202)));
        Assert.True(D(0x2201).IsCompatibleWith(D(0x2201)));
    }

    // ---------------------------------------------------------------- versions

    [Theory]
    [InlineData("1.0", 1, 0)]
    [InlineData("0.0", 0, 0)]
    [InlineData("255.255", 255, 255)]
    [InlineData("2.10", 2, 10)]
    public void VersionParse_MajorDotMinor_Parsed(string text, int major, int minor)
    {
        SubprotocolVersion v = SubprotocolVersion.Parse(text);
        Assert.Equal((major, minor), (v.Major, v.Minor));
        Assert.Equal(text, v.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("1.")]
    [InlineData(".1")]
    [InlineData("1.0.0")]
    [InlineData("a.b")]
    [InlineData("256.0")]
    [InlineData("1.256")]
    [InlineData("-1.0")]
    [InlineData("1.-0")]
    [InlineData("+1.0")]
    [InlineData(" 1.0")]
    [InlineData("1.0 ")]
    [InlineData("1. 0")]
    [InlineData("1,0")]
    [InlineData("0x1.0")]
    [InlineData("١.٠")] // Arabic-Indic digits
    public void VersionParse_NotMajorDotMinor_FormatException(string text)
    {
        Assert.Throws<FormatException>(() => SubprotocolVersion.Parse(text));
    }

    [Fact]
    public void VersionParse_Null_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => SubprotocolVersion.Parse(null!));
    }

    [Theory]
    [InlineData("1.0", "1.0", 0)]
    [InlineData("1.0", "1.1", -1)]
    [InlineData("1.9", "1.10", -1)]
    [InlineData("1.255", "2.0", -1)]
    [InlineData("2.0", "1.255", 1)]
    [InlineData("10.0", "9.9", 1)]
    public void VersionCompare_Pairs_OrderedByMajorThenMinor(string left, string right, int sign)
    {
        SubprotocolVersion l = SubprotocolVersion.Parse(left), r = SubprotocolVersion.Parse(right);
        Assert.Equal(sign, Math.Sign(l.CompareTo(r)));
        Assert.Equal(-sign, Math.Sign(r.CompareTo(l)));
        Assert.Equal(sign < 0, l < r);
        Assert.Equal(sign > 0, l > r);
        Assert.Equal(sign <= 0, l <= r);
        Assert.Equal(sign >= 0, l >= r);
        Assert.Equal(sign == 0, l == r);
    }

    [Fact]
    public void VersionCompare_AllPairs_ConsistentWithNumericOrder()
    {
        Property property = Prop.ForAll(Arb.From(Gen.Choose(0, 0xFFFF)), Arb.From(Gen.Choose(0, 0xFFFF)), (a, b) =>
        {
            SubprotocolVersion x = V(a >> 8, a & 0xFF), y = V(b >> 8, b & 0xFF);
            Assert.Equal(Math.Sign(a.CompareTo(b)), Math.Sign(x.CompareTo(y)));
            Assert.Equal(x, SubprotocolVersion.Parse(x.ToString()));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), property);
    }

    // ---------------------------------------------------------------- helpers

    private static int Key(SubprotocolVersion v) => (v.Major << 8) | v.Minor;

    private static SubprotocolVersion V(int major, int minor) => new((byte)major, (byte)minor);

    private static SubprotocolDescriptor D(ushort id, string name = "proto", SubprotocolVersion? version = null, SubprotocolVersion? min = null)
        => new(id, name, version ?? V(1, 0), min ?? V(1, 0));
}
