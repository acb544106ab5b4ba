using Fabric.Core.Security;
using Fabric.Gateway.Configuration;

namespace Fabric.Gateway.Tests.Configuration;

public class FabricSectionReaderTests
{
    [Fact]
    public void Read_DefaultsWithSelfPeer_GeneratesKeyWithMode0600AndPinsNothingElse()
    {
        using var dir = new TempDirectory();
        var section = new FabricSection { NodeName = "n1", DataDirectory = dir.Path, Peers = [new PeerSection { Address = "127.0.0.1:7400", PublicKey = "self" }] };
        FabricSettings settings = FabricSectionReader.Read(section);
        string keyFile = dir.File("n1.key");
        Assert.True(File.Exists(keyFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Equal(settings.Identity.PublicKey, settings.Node.Peers[0].PublicKey);
        Assert.False(settings.Node.Plaintext);

        // A second start loads the same key.
        FabricSettings again = FabricSectionReader.Read(section);
        Assert.Equal(settings.Identity.Id, again.Identity.Id);
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:99999")]
    public void Read_BadListen_NamesKey(string listen)
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, Listen = listen }));
        Assert.Equal("Fabric:Listen", ex.Key);
    }

    [Fact]
    public void Read_PeerWithoutKeyOnSecureNode_NamesPeerKey()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, Peers = [new PeerSection { Address = "127.0.0.1:7401" }] }));
        Assert.Equal("Fabric:Peers:0:PublicKey", ex.Key);
    }

    [Fact]
    public void Read_PeerKeyNotOnCurve_NamesKey()
    {
        using var dir = new TempDirectory();
        byte[] bogus = new byte[65];
        bogus[0] = 4;
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection
        {
            DataDirectory = dir.Path,
            Peers = [new PeerSection { Address = "127.0.0.1:7401", PublicKey = Convert.ToBase64String(bogus) }],
        }));
        Assert.Equal("Fabric:Peers:0:PublicKey", ex.Key);
    }

    [Fact]
    public void Read_PreSharedKeyOfWrongLength_NamesKey()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, PreSharedKey = Convert.ToBase64String(new byte[16]) }));
        Assert.Equal("Fabric:PreSharedKey", ex.Key);
        Assert.Contains("32", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PreSharedKeyNotBase64_NamesKey()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, PreSharedKey = "not base64!" }));
        Assert.Equal("Fabric:PreSharedKey", ex.Key);
    }

    [Fact]
    public void Read_KeyFileReadableByOthers_Refused()
    {
        using var dir = new TempDirectory();
        string keyFile = dir.File("open.key");
        using (NodeIdentity identity = NodeIdentity.Generate())
        {
            identity.Save(keyFile);
        }

        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { Identity = new IdentitySection { KeyFile = keyFile } }));
        Assert.Equal("Fabric:Identity:KeyFile", ex.Key);
        Assert.Contains("chmod 600", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_RevokedNodeNotHex_NamesIndex()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, Trust = new TrustSection { RevokedNodes = ["abc"] } }));
        Assert.Equal("Fabric:Trust:RevokedNodes:0", ex.Key);
    }

    [Fact]
    public void Read_CertificateForAnotherKey_NamesKey()
    {
        using var dir = new TempDirectory();
        using FabricCertificateAuthority ca = FabricCertificateAuthority.Create();
        using NodeIdentity other = NodeIdentity.Generate();
        NodeCertificate certificate = ca.Issue(other.PublicKey, "other", [], DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1), 1);
        File.WriteAllBytes(dir.File("node.cert"), certificate.Encoded);
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, Identity = new IdentitySection { CertificateFile = dir.File("node.cert") } }));
        Assert.Equal("Fabric:Identity:CertificateFile", ex.Key);
    }

    [Fact]
    public void Read_PlaintextPeerWithoutKey_Allowed()
    {
        using var dir = new TempDirectory();
        FabricSettings settings = FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, Plaintext = true, Peers = [new PeerSection { Address = "127.0.0.1:7401" }] });
        Assert.True(settings.Node.Plaintext);
        Assert.Null(settings.Node.Peers[0].PublicKey);
    }

    [Fact]
    public void Read_SessionSection_ReachesTheNodeOptions()
    {
        using var dir = new TempDirectory();
        FabricSettings settings = FabricSectionReader.Read(new FabricSection
        {
            DataDirectory = dir.Path,
            Session = new SessionSection { DrainTimeoutSeconds = 7.5, PingIntervalSeconds = 0.5, PingTimeoutSeconds = 3, IdleTimeoutSeconds = 0, MaxConcurrentStreams = 100 },
        });
        Assert.Equal(TimeSpan.FromSeconds(7.5), settings.Node.Session.DrainTimeout);
        Assert.Equal(TimeSpan.FromSeconds(0.5), settings.Node.Session.PingInterval);
        Assert.Equal(TimeSpan.FromSeconds(3), settings.Node.Session.PingTimeout);
        Assert.Equal(TimeSpan.Zero, settings.Node.Session.IdleTimeout);
        Assert.Equal(100, settings.Node.Session.MaxConcurrentStreams);
    }

    [Theory]
    [InlineData("DrainTimeoutSeconds", 0.0)]
    [InlineData("DrainTimeoutSeconds", double.NaN)]
    [InlineData("PingIntervalSeconds", 0.0)]
    [InlineData("PingTimeoutSeconds", 601.0)]
    [InlineData("IdleTimeoutSeconds", -1.0)]
    [InlineData("IdleTimeoutSeconds", 0.5)] // not longer than the 1 s ping interval
    [InlineData("MaxConcurrentStreams", 0.0)]
    public void Read_SessionValueOutOfRange_NamesKey(string name, double value)
    {
        using var dir = new TempDirectory();
        var session = new SessionSection();
        typeof(SessionSection).GetProperty(name)!.SetValue(session, name == "MaxConcurrentStreams" ? (object)(int)value : value);
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path, Session = session }));
        Assert.Equal($"Fabric:Session:{name}", ex.Key);
    }
}
