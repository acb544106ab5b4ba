using Fabric.Core.Security;
using Fabric.Gateway.Commands;

namespace Fabric.Gateway.Tests.Commands;

public class GatewayCommandsTests
{
    [Fact]
    public void Keygen_WritesPrivateKeyWithMode0600_AndPrintsPublicKey()
    {
        using var dir = new TempDirectory();
        var output = new StringWriter();
        int code = GatewayCommands.Run(["keygen", "--out", dir.File("n.key")], output);
        Assert.Equal(0, code);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.File("n.key")));
        using NodeIdentity loaded = NodeIdentity.Load(dir.File("n.key"));
        Assert.Contains(Convert.ToBase64String(loaded.PublicKey), output.ToString(), StringComparison.Ordinal);
        Assert.Contains(loaded.Id.ToString(), output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Keygen_ExistingFile_FailsWithoutOverwriting()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("n.key"), "keep me");
        var error = new StringWriter();
        int code = GatewayCommands.Run(["keygen", "--out", dir.File("n.key")], new StringWriter(), error);
        Assert.Equal(1, code);
        Assert.Contains("already exists", error.ToString(), StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(dir.File("n.key")));
    }

    [Fact]
    public void CaCreateAndIssue_ProduceCertificateTheTrustPolicyAccepts()
    {
        using var dir = new TempDirectory();
        var caOutput = new StringWriter();
        Assert.Equal(0, GatewayCommands.Run(["ca", "create", "--out", dir.File("ca.key")], caOutput));
        using NodeIdentity node = NodeIdentity.Generate();
        Assert.Equal(0, GatewayCommands.Run(
            ["ca", "issue", "--ca", dir.File("ca.key"), "--node-public-key", Convert.ToBase64String(node.PublicKey), "--name", "edge-1", "--role", "entry", "--role", "relay", "--serial", "7", "--out", dir.File("n.cert")],
            new StringWriter()));
        using FabricCertificateAuthority ca = FabricCertificateAuthority.Load(dir.File("ca.key"));
        Assert.Contains(Convert.ToBase64String(ca.PublicKey), caOutput.ToString(), StringComparison.Ordinal);
        TrustDecision decision = new FabricTrust(certificateAuthorities: [ca.PublicKey]).Evaluate(node.PublicKey, File.ReadAllBytes(dir.File("n.cert")));
        Assert.True(decision.Accepted, decision.Failure.ToString());
        Assert.Equal("edge-1", decision.Name);
        Assert.Equal(["entry", "relay"], decision.Roles);
    }
}
