using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

public class RelayPathTests
{
    [Fact]
    public async Task OpenServiceStream_ThroughRelay_EchoesEndToEnd()
    {
        await using var cluster = new NodeCluster("a", "r", "b");
        await cluster.StartAsync("r");
        FabricNode b = await cluster.StartAsync("b", ["r"]);
        FabricNode a = await cluster.StartAsync("a", ["r"]);
        b.AddLocalService(new ServiceReplica("echo-svc", "b1", [CoreSubprotocols.Echo]));

        await Eventually.TrueAsync(() => a.Directory.FindReplicas("echo-svc", CoreSubprotocols.Echo).Count == 1, "a learns of the replica on b", TimeSpan.FromSeconds(10));
        ReplicaRoute route = a.Directory.FindReplicas("echo-svc", CoreSubprotocols.Echo)[0];
        Assert.Equal(2, route.Hops);

        await using RoutedStream stream = await a.OpenServiceStreamAsync("echo-svc", CoreSubprotocols.Echo).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(stream.Relayed);
        byte[] payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000);
        Task send = Task.Run(async () => await stream.WriteAsync(payload));
        byte[] back = new byte[payload.Length];
        await stream.ReadExactlyAsync(back).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await send;
        Assert.Equal(payload, back);
    }
}
