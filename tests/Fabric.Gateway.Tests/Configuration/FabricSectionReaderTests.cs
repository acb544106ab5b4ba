using Fabric.Core.Links;
using Fabric.Core.Security;
using Fabric.Core.Sessions;
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

    [Fact]
    public void Read_SessionWindowsFramesAndFloodLimits_ReachTheNodeOptions()
    {
        using var dir = new TempDirectory();
        FabricSettings settings = FabricSectionReader.Read(new FabricSection
        {
            DataDirectory = dir.Path,
            Session = new SessionSection
            {
                MaxFramePayload = 4096,
                InitialStreamWindow = 64 * 1024,
                MaxStreamWindow = 1024 * 1024,
                SessionWindow = 8 * 1024 * 1024,
                StreamSendBufferSize = 32 * 1024,
                AcceptBacklog = 10,
                FlushThreshold = 8192,
                MaxPendingControlFrames = 100,
                HelloTimeoutSeconds = 2,
                Flood = new FloodSection { MaxPingsPerSecond = 5, MaxResetsPerSecond = 6, MaxEmptyDataPerSecond = 7, MaxRefusedOpensPerSecond = 8, MaxControlFramesPerSecond = 9 },
            },
        });
        FabricSessionOptions session = settings.Node.Session;
        Assert.Equal(4096, session.MaxFramePayload);
        Assert.Equal(64 * 1024, session.InitialStreamWindow);
        Assert.Equal(1024 * 1024, session.MaxStreamWindow);
        Assert.Equal(8 * 1024 * 1024, session.SessionWindow);
        Assert.Equal(32 * 1024, session.StreamSendBufferSize);
        Assert.Equal(10, session.AcceptBacklog);
        Assert.Equal(8192, session.FlushThreshold);
        Assert.Equal(100, session.MaxPendingControlFrames);
        Assert.Equal(TimeSpan.FromSeconds(2), session.HelloTimeout);
        Assert.Equal(new FloodLimits { MaxPingsPerSecond = 5, MaxResetsPerSecond = 6, MaxEmptyDataPerSecond = 7, MaxRefusedOpensPerSecond = 8, MaxControlFramesPerSecond = 9 }, session.Flood);
    }

    [Fact]
    public void Read_Defaults_AreTheLibraryDefaults()
    {
        using var dir = new TempDirectory();
        FabricSettings settings = FabricSectionReader.Read(new FabricSection { DataDirectory = dir.Path });
        Assert.Equal(new FabricSessionOptions() with { TimeProvider = settings.Node.Session.TimeProvider }, settings.Node.Session);
        Assert.Equal(new TcpLinkOptions(), settings.Node.Tcp);
        SecureLinkOptions security = settings.Node.Security;
        var library = new SecureLinkOptions();
        Assert.Equal(library.CipherSuites, security.CipherSuites);
        Assert.Equal(library.HandshakeTimeout, security.HandshakeTimeout);
        Assert.Equal(library.MaxRejectedRecords, security.MaxRejectedRecords);
        Assert.Equal(library.HandshakesPerSecondPerSource, security.HandshakesPerSecondPerSource);
        Assert.Equal(library.HandshakeBurstPerSource, security.HandshakeBurstPerSource);
    }

    [Fact]
    public void Read_SecurityAndTcpSections_ReachTheNodeOptions()
    {
        using var dir = new TempDirectory();
        FabricSettings settings = FabricSectionReader.Read(new FabricSection
        {
            DataDirectory = dir.Path,
            Security = new SecuritySection { CipherSuites = ["aes256gcm", "ChaCha20Poly1305"], HandshakeTimeoutSeconds = 2, MaxRejectedRecords = 3, HandshakesPerSecondPerSource = 4.5, HandshakeBurstPerSource = 6 },
            Tcp = new TcpSection { SendBufferSize = 0, ReceiveBufferSize = 1 << 20, NotSentLowWatermark = 0, ConnectTimeoutSeconds = 2.5 },
        });
        SecureLinkOptions security = settings.Node.Security;
        Assert.Equal([CipherSuite.Aes256Gcm, CipherSuite.ChaCha20Poly1305], security.CipherSuites);
        Assert.Equal(TimeSpan.FromSeconds(2), security.HandshakeTimeout);
        Assert.Equal(3, security.MaxRejectedRecords);
        Assert.Equal(4.5, security.HandshakesPerSecondPerSource);
        Assert.Equal(6, security.HandshakeBurstPerSource);
        Assert.Equal(new TcpLinkOptions { SendBufferSize = 0, ReceiveBufferSize = 1 << 20, NotSentLowWatermark = 0, ConnectTimeout = TimeSpan.FromSeconds(2.5) }, settings.Node.Tcp);
    }

    [Theory]
    [InlineData("Rot13", "Fabric:Security:CipherSuites:1", "is not a record cipher")]
    [InlineData("2", "Fabric:Security:CipherSuites:1", "is not a record cipher")]
    [InlineData("ChaCha20Poly1305", "Fabric:Security:CipherSuites:1", "listed twice")]
    public void Read_BadCipherSuite_NamesItsIndex(string second, string key, string why)
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(new FabricSection
        {
            DataDirectory = dir.Path,
            Security = new SecuritySection { CipherSuites = ["ChaCha20Poly1305", second] },
        }));
        Assert.Equal(key, ex.Key);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Session:MaxFramePayload", 1023)]
    [InlineData("Session:MaxFramePayload", 65536)]
    [InlineData("Session:InitialStreamWindow", 1000)] // below the frame payload
    [InlineData("Session:MaxStreamWindow", 1000)] // below the initial window
    [InlineData("Session:SessionWindow", 1000)]
    [InlineData("Session:StreamSendBufferSize", 0)]
    [InlineData("Session:AcceptBacklog", 0)]
    [InlineData("Session:FlushThreshold", 100)]
    [InlineData("Session:MaxPendingControlFrames", 1)]
    [InlineData("Session:HelloTimeoutSeconds", 0)]
    [InlineData("Session:Flood:MaxPingsPerSecond", 0)]
    [InlineData("Session:Flood:MaxControlFramesPerSecond", -1)]
    [InlineData("Security:HandshakeTimeoutSeconds", 0)]
    [InlineData("Security:MaxRejectedRecords", -1)]
    [InlineData("Security:HandshakesPerSecondPerSource", 0)]
    [InlineData("Security:HandshakeBurstPerSource", 0)]
    [InlineData("Tcp:SendBufferSize", -1)]
    [InlineData("Tcp:NotSentLowWatermark", -1)]
    [InlineData("Tcp:ConnectTimeoutSeconds", 0)]
    public void Read_TuningValueOutOfRange_NamesKey(string path, double value)
    {
        using var dir = new TempDirectory();
        var section = new FabricSection { DataDirectory = dir.Path };
        object target = section;
        string[] parts = path.Split(':');
        foreach (string part in parts[..^1])
        {
            target = target.GetType().GetProperty(part)!.GetValue(target)!;
        }

        System.Reflection.PropertyInfo property = target.GetType().GetProperty(parts[^1])!;
        property.SetValue(target, property.PropertyType == typeof(int) ? (object)(int)value : value);
        var ex = Assert.Throws<ConfigurationException>(() => FabricSectionReader.Read(section));
        Assert.Equal($"Fabric:{path}", ex.Key);
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
