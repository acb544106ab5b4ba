using System.Security.Cryptography;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

public class FabricSessionSmokeTests
{
    [Fact]
    public async Task OpenWriteRead_EchoesBytesBothWays()
    {
        await using var pair = await SessionPair.StartAsync();
        FabricStream client = await pair.A.OpenStreamAsync(0x0100, "echo");
        FabricStream? server = await pair.B.AcceptStreamAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(server);
        Assert.Equal("echo", server.Target);
        Assert.Equal((ushort)0x0100, server.Subprotocol);
        Assert.Equal(client.Id, server.Id);

        byte[] payload = RandomNumberGenerator.GetBytes(1_000_000);
        Task write = Task.Run(async () =>
        {
            await client.WriteAsync(payload);
            client.CompleteWrites();
        });
        var received = new MemoryStream();
        await server.CopyToAsync(received).WaitAsync(TimeSpan.FromSeconds(10));
        await write;
        Assert.Equal(payload, received.ToArray());

        await server.WriteAsync("pong"u8.ToArray());
        server.CompleteWrites();
        var back = new MemoryStream();
        await client.CopyToAsync(back).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("pong"u8.ToArray(), back.ToArray());
    }
}
