using System.Buffers.Binary;
using System.Net;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Fabric.Core.Links;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security;

/// <summary><see cref="FabricTrust"/>, node certificates, node key files and node ids (docs/PROTOCOL.md §2.1, §2.6).</summary>
public class TrustTests : IDisposable
{
    private readonly ManualTimeProvider _clock = new();
    private readonly FabricCertificateAuthority _ca = FabricCertificateAuthority.Create();
    private readonly NodeIdentity _node = NodeIdentity.Generate();
    private readonly List<string> _files = [];

    private DateTimeOffset Now => _clock.GetUtcNow();

    public void Dispose()
    {
        _ca.Dispose();
        _node.Dispose();
        foreach (string file in _files)
        {
            File.Delete(file);
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public void Evaluate_PinnedKeyNoCertificate_Accepted()
    {
        var trust = new FabricTrust(pinnedPublicKeys: [_node.PublicKey], time: _clock);
        TrustDecision decision = trust.Evaluate(_node.PublicKey, []);
        Assert.True(decision.Accepted);
        Assert.Equal(TrustFailure.None, decision.Failure);
        Assert.Equal(_node.Id, decision.NodeId);
        Assert.Null(decision.Name);
        Assert.Empty(decision.Roles);
    }

    [Fact]
    public void Evaluate_NotPinnedNoCertificate_UnknownNode()
    {
        using NodeIdentity other = NodeIdentity.Generate();
        var trust = new FabricTrust(pinnedPublicKeys: [other.PublicKey], certificateAuthorities: [_ca.PublicKey], time: _clock);
        Assert.Equal(TrustFailure.UnknownNode, trust.Evaluate(_node.PublicKey, []).Failure);
    }

    [Fact]
    public void Evaluate_ValidCaCertificate_AcceptedWithNameAndRoles()
    {
        NodeCertificate cert = Issue(roles: ["entry", "relay"]);
        TrustDecision decision = CaTrust().Evaluate(_node.PublicKey, cert.Encoded);
        Assert.True(decision.Accepted);
        Assert.Equal("node-1", decision.Name);
        Assert.Equal(["entry", "relay"], decision.Roles);
        Assert.Equal(_node.Id, cert.NodeId);
        Assert.Equal(_node.PublicKey, cert.PublicKey);
        Assert.Equal(NodeCertificate.KeyId(_ca.PublicKey), cert.IssuerKeyId);
        Assert.True(cert.VerifySignature(_ca.PublicKey));
    }

    [Fact]
    public void Evaluate_CertificateExpired_CertificateExpired()
    {
        NodeCertificate cert = Issue(notBefore: Now.AddDays(-10), notAfter: Now.AddSeconds(-1));
        Assert.Equal(TrustFailure.CertificateExpired, CaTrust().Evaluate(_node.PublicKey, cert.Encoded).Failure);
    }

    [Fact]
    public void Evaluate_CertificateAtEdgesOfValidity_AcceptedInsideRefusedOutside()
    {
        NodeCertificate cert = Issue(notBefore: Now.AddSeconds(10), notAfter: Now.AddSeconds(20));
        FabricTrust trust = CaTrust();
        Assert.Equal(TrustFailure.CertificateNotYetValid, trust.Evaluate(_node.PublicKey, cert.Encoded).Failure);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TrustFailure.None, trust.Evaluate(_node.PublicKey, cert.Encoded).Failure);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TrustFailure.None, trust.Evaluate(_node.PublicKey, cert.Encoded).Failure);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(TrustFailure.CertificateExpired, trust.Evaluate(_node.PublicKey, cert.Encoded).Failure);
    }

    [Fact]
    public void Evaluate_CertificateNotYetValid_CertificateNotYetValid()
    {
        NodeCertificate cert = Issue(notBefore: Now.AddHours(1), notAfter: Now.AddDays(10));
        Assert.Equal(TrustFailure.CertificateNotYetValid, CaTrust().Evaluate(_node.PublicKey, cert.Encoded).Failure);
    }

    [Fact]
    public void Evaluate_CertificateFromUntrustedCa_CertificateUntrusted()
    {
        using FabricCertificateAuthority rogue = FabricCertificateAuthority.Create();
        NodeCertificate cert = rogue.Issue(_node.PublicKey, "node-1", ["exit"], Now.AddDays(-1), Now.AddDays(1), 7);
        TrustDecision decision = CaTrust().Evaluate(_node.PublicKey, cert.Encoded);
        Assert.Equal(TrustFailure.CertificateUntrusted, decision.Failure);
        Assert.Empty(decision.Roles);
        Assert.False(cert.VerifySignature(_ca.PublicKey));
    }

    [Fact]
    public void Evaluate_IssuerKeyIdOfTrustedCaButOtherSigner_CertificateUntrusted()
    {
        // A rogue CA writes the trusted CA's key id into its certificate: the signature still has to verify.
        using var rogue = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        NodeCertificate cert = NodeCertificate.Issue(rogue, _ca.PublicKey, _node.PublicKey, "node-1", ["exit"], Now.AddDays(-1), Now.AddDays(1), 7);
        Assert.Equal(NodeCertificate.KeyId(_ca.PublicKey), cert.IssuerKeyId);
        Assert.Equal(TrustFailure.CertificateUntrusted, CaTrust().Evaluate(_node.PublicKey, cert.Encoded).Failure);
    }

    [Theory]
    [InlineData("signature")]
    [InlineData("name")]
    [InlineData("role")]
    [InlineData("not-after")]
    [InlineData("serial")]
    public void Evaluate_CertificateByteFlipped_CertificateUntrusted(string where)
    {
        NodeCertificate cert = Issue(roles: ["relay"]);
        byte[] bytes = cert.Encoded.ToArray();
        int index = where switch
        {
            "signature" => bytes.Length - 10,
            "name" => 1 + 65 + 1,                   // first byte of the name
            "role" => 1 + 65 + 1 + 6 + 1 + 1,         // first byte of the role
            "not-after" => bytes.Length - 64 - 8 - 8 - 1,
            _ => bytes.Length - 64 - 8 - 1,
        };
        bytes[index] ^= 0x01;
        Assert.Equal(TrustFailure.CertificateUntrusted, CaTrust().Evaluate(_node.PublicKey, bytes).Failure);
    }

    [Fact]
    public void Evaluate_CertificateForAnotherKey_CertificateKeyMismatch()
    {
        using NodeIdentity thief = NodeIdentity.Generate();
        NodeCertificate someoneElses = Issue();
        TrustDecision decision = CaTrust().Evaluate(thief.PublicKey, someoneElses.Encoded);
        Assert.Equal(TrustFailure.CertificateKeyMismatch, decision.Failure);
        Assert.Equal(thief.Id, decision.NodeId);
    }

    [Fact]
    public void Evaluate_RevokedNodeIdEvenIfPinnedOrCertified_Revoked()
    {
        NodeCertificate cert = Issue();
        var trust = new FabricTrust(pinnedPublicKeys: [_node.PublicKey], certificateAuthorities: [_ca.PublicKey], revokedNodes: [_node.Id], time: _clock);
        Assert.Equal(TrustFailure.Revoked, trust.Evaluate(_node.PublicKey, []).Failure);
        Assert.Equal(TrustFailure.Revoked, trust.Evaluate(_node.PublicKey, cert.Encoded).Failure);
    }

    [Fact]
    public void Evaluate_RevokedSerial_Revoked()
    {
        NodeCertificate revoked = Issue(serial: 41);
        NodeCertificate renewed = Issue(serial: 42);
        var trust = new FabricTrust(certificateAuthorities: [_ca.PublicKey], revokedSerials: [41], time: _clock);
        Assert.Equal(TrustFailure.Revoked, trust.Evaluate(_node.PublicKey, revoked.Encoded).Failure);
        Assert.Equal(TrustFailure.None, trust.Evaluate(_node.PublicKey, renewed.Encoded).Failure);

        // A revoked certificate is not rescued by a pin either.
        var pinned = new FabricTrust(pinnedPublicKeys: [_node.PublicKey], certificateAuthorities: [_ca.PublicKey], revokedSerials: [41], time: _clock);
        Assert.Equal(TrustFailure.Revoked, pinned.Evaluate(_node.PublicKey, revoked.Encoded).Failure);
    }

    [Fact]
    public void Evaluate_PinnedPeerWithUnverifiedCertificate_AcceptedWithoutClaimedNameOrRoles()
    {
        // The pin lets the peer in, but a name and roles nobody trusted signed must not come with it.
        using FabricCertificateAuthority rogue = FabricCertificateAuthority.Create();
        NodeCertificate selfMade = rogue.Issue(_node.PublicKey, "admin", ["exit", "service-host"], Now.AddDays(-1), Now.AddDays(1), 1);
        NodeCertificate expired = Issue(notBefore: Now.AddDays(-10), notAfter: Now.AddDays(-1));
        var trust = new FabricTrust(pinnedPublicKeys: [_node.PublicKey], certificateAuthorities: [_ca.PublicKey], time: _clock);
        foreach (NodeCertificate cert in new[] { selfMade, expired })
        {
            TrustDecision decision = trust.Evaluate(_node.PublicKey, cert.Encoded);
            Assert.True(decision.Accepted);
            Assert.Null(decision.Name);
            Assert.Empty(decision.Roles);
        }
    }

    [Theory]
    [InlineData("empty-after-version")]
    [InlineData("truncated")]
    [InlineData("truncated-signature")]
    [InlineData("oversize")]
    [InlineData("trailing-byte")]
    [InlineData("bad-utf8-name")]
    [InlineData("bad-utf8-role")]
    [InlineData("name-too-long")]
    [InlineData("too-many-roles")]
    [InlineData("version-2")]
    [InlineData("time-out-of-range")]
    [InlineData("random")]
    public void Evaluate_MalformedCertificate_CertificateMalformedNoException(string shape)
    {
        byte[] good = Issue(roles: ["relay"]).Encoded;
        int notBeforeOffset = good.Length - 64 - 8 - 8 - 8 - 8;
        byte[] bytes = shape switch
        {
            "empty-after-version" => [1],
            "truncated" => good[..(good.Length / 2)],
            "truncated-signature" => good[..^1],
            "oversize" => [.. good, .. new byte[NodeCertificate.MaxSize]],
            "trailing-byte" => [.. good, 0],
            "bad-utf8-name" => Patched(good, 1 + 65 + 1, 0xFF),
            "bad-utf8-role" => Patched(good, 1 + 65 + 1 + 6 + 1 + 1, 0xC3),
            "name-too-long" => Patched(good, 1 + 65, 65),
            "too-many-roles" => Patched(good, 1 + 65 + 1 + 6, 17),
            "version-2" => Patched(good, 0, 2),
            "time-out-of-range" => PatchedTime(good, notBeforeOffset, long.MaxValue),
            _ => RandomNumberGenerator.GetBytes(300),
        };

        TrustDecision decision = CaTrust().Evaluate(_node.PublicKey, bytes);
        Assert.Equal(TrustFailure.CertificateMalformed, decision.Failure);
        Assert.False(decision.Accepted);
        Assert.Throws<FormatException>(() => NodeCertificate.Parse(bytes));
    }

    [Theory]
    [InlineData("empty-name")]
    [InlineData("empty-role")]
    public void Parse_EmptyNameOrRoleEvenIfSigned_CertificateMalformed(string shape)
    {
        // Lengths are 1..64 (name) and 1..32 (role) in §2.6, whoever signed the bytes.
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] caPublic = EncodeCaKey(caKey);
        using var body = new MemoryStream();
        body.WriteByte(1);
        body.Write(_node.PublicKey);
        byte[] name = shape == "empty-name" ? [] : "node-1"u8.ToArray();
        body.WriteByte((byte)name.Length);
        body.Write(name);
        body.WriteByte(shape == "empty-role" ? (byte)1 : (byte)0);
        if (shape == "empty-role")
        {
            body.WriteByte(0);
        }

        Span<byte> fixedPart = stackalloc byte[32];
        BinaryPrimitives.WriteInt64BigEndian(fixedPart, Now.AddDays(-1).ToUnixTimeSeconds());
        BinaryPrimitives.WriteInt64BigEndian(fixedPart[8..], Now.AddDays(1).ToUnixTimeSeconds());
        BinaryPrimitives.WriteUInt64BigEndian(fixedPart[16..], 5);
        NodeCertificate.KeyId(caPublic).CopyTo(fixedPart[24..]);
        body.Write(fixedPart);
        body.Write(caKey.SignData(body.ToArray(), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

        Assert.Throws<FormatException>(() => NodeCertificate.Parse(body.ToArray()));
        var trust = new FabricTrust(certificateAuthorities: [caPublic], time: _clock);
        Assert.Equal(TrustFailure.CertificateMalformed, trust.Evaluate(_node.PublicKey, body.ToArray()).Failure);
    }

    [Fact]
    public void Issue_LongestNameAndMostRoles_FitsAndRoundTrips()
    {
        string name = new('n', 64);
        string[] roles = [.. Enumerable.Range(0, 16).Select(i => new string((char)('a' + i), 32))];
        NodeCertificate cert = Issue(name: name, roles: roles);
        Assert.True(cert.Encoded.Length <= NodeCertificate.MaxSize);
        NodeCertificate parsed = NodeCertificate.Parse(cert.Encoded);
        Assert.Equal(name, parsed.Name);
        Assert.Equal(roles, parsed.Roles);
        Assert.Equal(cert.NotBefore, parsed.NotBefore);
        Assert.Equal(cert.NotAfter, parsed.NotAfter);
        Assert.Equal(cert.Serial, parsed.Serial);
        Assert.True(CaTrust().Evaluate(_node.PublicKey, cert.Encoded).Accepted);
    }

    [Fact]
    public void Constructor_CaKeyNotOnCurve_ThrowsArgumentException()
    {
        byte[] offCurve = [0x04, .. new byte[64]];
        Assert.Throws<ArgumentException>(() => new FabricTrust(certificateAuthorities: [offCurve]));
        Assert.Throws<ArgumentException>(() => new FabricTrust(certificateAuthorities: [new byte[10]]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Handshake_BothTrustOnlyTheCa_SucceedsWithNamesAndRolesFromCertificates(bool overTcp)
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        NodeCertificate certA = _ca.Issue(a.PublicKey, "edge-a", ["entry"], now.AddHours(-1), now.AddHours(1), 100);
        NodeCertificate certB = _ca.Issue(b.PublicKey, "core-b", ["relay", "exit"], now.AddHours(-1), now.AddHours(1), 101);
        var trust = new FabricTrust(certificateAuthorities: [_ca.PublicKey]);
        var ea = new SecureLinkEndpoint(a, trust, new SecureLinkOptions { Certificate = certA.Encoded });
        var eb = new SecureLinkEndpoint(b, trust, new SecureLinkOptions { Certificate = certB.Encoded });
        var (ca, cb) = await SecureTestPeers.CarrierPairAsync(overTcp);
        var (la, lb) = await SecureTestPeers.HandshakeAsync(ea, eb, ca, cb);
        try
        {
            Assert.Equal("core-b", la.PeerName);
            Assert.Equal(["relay", "exit"], la.PeerRoles);
            Assert.Equal(b.Id, la.PeerId);
            Assert.Equal("edge-a", lb.PeerName);
            Assert.Equal(["entry"], lb.PeerRoles);
            Assert.Equal(a.Id, lb.PeerId);
            Assert.StartsWith("core-b at ", la.RemoteDescription, StringComparison.Ordinal);
            await SecureTestPeers.AssertCarriesAsync(la, lb, [1, 2, 3]);
        }
        finally
        {
            await SecureTestPeers.DisposeAllAsync(la, lb);
        }
    }

    [Fact]
    public async Task Handshake_InitiatorCertificateRevokedBySerial_DroppedUntrusted()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        NodeCertificate certA = _ca.Issue(a.PublicKey, "edge-a", ["entry"], now.AddHours(-1), now.AddHours(1), 900);
        NodeCertificate certB = _ca.Issue(b.PublicKey, "core-b", [], now.AddHours(-1), now.AddHours(1), 901);
        var ea = new SecureLinkEndpoint(a, new FabricTrust(certificateAuthorities: [_ca.PublicKey]), SecureTestPeers.QuickTimeout with { Certificate = certA.Encoded });
        var eb = new SecureLinkEndpoint(b, new FabricTrust(certificateAuthorities: [_ca.PublicKey], revokedSerials: [900]), new SecureLinkOptions { Certificate = certB.Encoded });
        Assert.Equal(HandshakeFailure.Timeout, await SecureTestPeers.DroppedHandshakeAsync(ea, eb, b.PublicKey));
        Assert.Equal(1, eb.Statistics.Failed(HandshakeFailure.Untrusted));
    }

    [Fact]
    public async Task Handshake_ResponderCertificateExpired_InitiatorFailsUntrusted()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        NodeCertificate certA = _ca.Issue(a.PublicKey, "edge-a", [], now.AddHours(-1), now.AddHours(1), 1);
        NodeCertificate certB = _ca.Issue(b.PublicKey, "core-b", [], now.AddHours(-3), now.AddHours(-2), 2);
        var trust = new FabricTrust(certificateAuthorities: [_ca.PublicKey]);
        var ea = new SecureLinkEndpoint(a, trust, new SecureLinkOptions { Certificate = certA.Encoded });
        var eb = new SecureLinkEndpoint(b, trust, new SecureLinkOptions { Certificate = certB.Encoded });
        var (ca, cb) = InMemoryLink.CreatePair();
        Task<SecureLink?> accept = eb.AcceptAsync(cb, IPAddress.Loopback);
        var ex = await Assert.ThrowsAsync<SecureHandshakeException>(() => ea.ConnectAsync(ca, b.PublicKey).WaitAsync(TestTimeouts.Short));
        Assert.Equal(HandshakeFailure.Untrusted, ex.Failure);
        SecureLink? responder = await accept.WaitAsync(TestTimeouts.Short);
        if (responder is not null)
        {
            await responder.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
        }
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public void Save_NewKeyFile_Mode0600AndLoadsBack()
    {
        string path = TempPath();
        _node.Save(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(path), StringComparison.Ordinal);
        using NodeIdentity loaded = NodeIdentity.Load(path);
        Assert.Equal(_node.PublicKey, loaded.PublicKey);
        Assert.Equal(_node.Id, loaded.Id);
    }

    [Fact]
    public void Save_ExistingFile_RefusesToOverwrite()
    {
        string path = TempPath();
        _node.Save(path);
        byte[] before = File.ReadAllBytes(path);
        using NodeIdentity other = NodeIdentity.Generate();
        Assert.Throws<IOException>(() => other.Save(path));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)] // 0644
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]                          // 0640
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite)]                         // 0602
    [UnsupportedOSPlatform("windows")]
    public void Load_KeyFileReadableOrWritableByOthers_Refused(UnixFileMode mode)
    {
        string path = TempPath();
        _node.Save(path);
        File.SetUnixFileMode(path, mode);
        var ex = Assert.Throws<UnauthorizedAccessException>(() => NodeIdentity.Load(path));
        Assert.Contains("chmod 600", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_Identity_ShowsNodeIdOnly()
    {
        string text = _node.ToString();
        Assert.Equal("node " + _node.Id.ShortForm, text);
    }

    [Fact]
    public void ShortForm_AnyNodeId_FnDashSixteenBase32()
    {
        Assert.Matches(new Regex("^fn-[a-z2-7]{16}$"), _node.Id.ShortForm);
        Assert.Equal(64, _node.Id.ToString().Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(_node.PublicKey)), _node.Id.ToString());
    }

    [Theory]
    [InlineData("foobarbazq", "fn-mzxw6ytbojrgc6tr")]
    [InlineData("\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009", "fn-aaaqeayeaudaocaj")]
    public void ShortForm_KnownFirstTenBytes_Rfc4648Base32LowerCase(string firstTen, string expected)
    {
        byte[] id = new byte[NodeId.Size];
        Encoding.Latin1.GetBytes(firstTen).CopyTo(id, 0);
        id[20] = 0xEE; // bytes past the tenth do not show
        NodeId nodeId = NodeId.Parse(Convert.ToHexStringLower(id));
        Assert.Equal(expected, nodeId.ShortForm);
    }

    [Fact]
    public void ShortForm_AllOnes_SixteenSevens()
    {
        NodeId id = NodeId.Parse(new string('f', 64));
        Assert.Equal("fn-7777777777777777", id.ShortForm);
    }

    private FabricTrust CaTrust() => new(certificateAuthorities: [_ca.PublicKey], time: _clock);

    private NodeCertificate Issue(string name = "node-1", string[]? roles = null, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, ulong serial = 1)
        => _ca.Issue(_node.PublicKey, name, roles ?? [], notBefore ?? Now.AddDays(-1), notAfter ?? Now.AddDays(30), serial);

    private string TempPath()
    {
        string path = Path.Combine(Path.GetTempPath(), "fabric-trust-tests-" + Guid.NewGuid().ToString("N") + ".pem");
        _files.Add(path);
        return path;
    }

    private static byte[] Patched(byte[] bytes, int index, byte value)
    {
        byte[] copy = bytes.ToArray();
        copy[index] = value;
        return copy;
    }

    private static byte[] PatchedTime(byte[] bytes, int index, long value)
    {
        byte[] copy = bytes.ToArray();
        BinaryPrimitives.WriteInt64BigEndian(copy.AsSpan(index), value);
        return copy;
    }

    private static byte[] EncodeCaKey(ECDsa key)
    {
        ECParameters p = key.ExportParameters(false);
        return [0x04, .. p.Q.X!, .. p.Q.Y!];
    }
}
