using System.Security.Cryptography;
using Fabric.Core.Links;
using Fabric.Core.Security;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Security;

public class SecureLinkSmokeTests
{
    [Fact]
    public async Task SessionOverSecureLink_EchoesMegabyte()
    {
        using NodeIdentity a = NodeIdentity.Generate();
        using NodeIdentity b = NodeIdentity.Generate();
        var endpointA = new SecureLinkEndpoint(a, new FabricTrust(pinnedPublicKeys: [b.PublicKey]));
        var endpointB = new SecureLinkEndpoint(b, new FabricTrust(pinnedPublicKeys: [a.PublicKey]));
        var (carrierA, carrierB) = InMemoryLink.CreatePair();

        Task<SecureLink?> accept = endpointB.AcceptAsync(carrierB, null);
        SecureLink linkA;
        try
        {
            linkA = await endpointA.ConnectAsync(carrierA, b.PublicKey).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (SecureHandshakeException)
        {
            string why = string.Join(", ", Enum.GetValues<HandshakeFailure>().Where(f => endpointB.Statistics.Failed(f) > 0));
            Assert.Fail("responder dropped: " + why + " accept status " + accept.Status + " " + accept.Exception);
            throw;
        }
        SecureLink? linkB = await accept.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(linkB);
        Assert.Equal(b.Id, linkA.PeerId);
        Assert.Equal(a.Id, linkB.PeerId);
        Assert.Equal(linkA.LinkId, linkB.LinkId);

        await using var sa = new FabricSession(linkA, SessionRole.Initiator);
        await using var sb = new FabricSession(linkB, SessionRole.Acceptor);
        sa.Start();
        sb.Start();
        FabricStream client = await sa.OpenStreamAsync(1, "echo").AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        FabricStream server = (await sb.AcceptStreamAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)))!;
        byte[] payload = RandomNumberGenerator.GetBytes(1_000_000);
        Task echo = Task.Run(async () =>
        {
            await server.CopyToAsync(server);
            server.CompleteWrites();
        });
        Task send = Task.Run(async () =>
        {
            await client.WriteAsync(payload);
            client.CompleteWrites();
        });
        var back = new MemoryStream();
        await client.CopyToAsync(back).WaitAsync(TimeSpan.FromSeconds(20));
        await send;
        await echo;
        Assert.Equal(payload, back.ToArray());
        Assert.True(linkA.Statistics.RecordsSealed > 0);
        Assert.Equal(0, linkB.Statistics.RejectedTotal);
    }
}
