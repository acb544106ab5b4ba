using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Sessions;
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
        await send.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(payload, back);
    }

    [Fact]
    public async Task OpenServiceStream_ThroughTwoRelays_EchoesEndToEnd()
    {
        await using var cluster = new NodeCluster("a", "r1", "r2", "b");
        await cluster.StartAsync("r1");
        await cluster.StartAsync("r2", ["r1"]);
        FabricNode b = await cluster.StartAsync("b", ["r2"]);
        FabricNode a = await cluster.StartAsync("a", ["r1"]);
        b.AddLocalService(new ServiceReplica("echo-svc", "b1", [CoreSubprotocols.Echo]));

        await cluster.ReplicasAsync("a", "echo-svc", CoreSubprotocols.Echo, 1);
        ReplicaRoute route = a.Directory.FindReplicas("echo-svc", CoreSubprotocols.Echo)[0];
        Assert.Equal(3, route.Hops);
        Assert.Equal(cluster.Identity("r1").Id, route.NextHop);

        await using RoutedStream stream = await a.OpenServiceStreamAsync("echo-svc", CoreSubprotocols.Echo).WaitAsync(TestTimeouts.Long);
        Assert.True(stream.Relayed);
        Assert.Equal(cluster.Identity("b").Id, stream.Route.Origin);
        await NodeCluster.EchoRoundTripAsync(stream, 300_000);
    }

    [Fact]
    public async Task OpenServiceStream_ThroughRelay_RelaySessionStatisticsShowForwardedBytes()
    {
        await using var cluster = new NodeCluster("a", "r", "b");
        FabricNode r = await cluster.StartAsync("r");
        FabricNode b = await cluster.StartAsync("b", ["r"]);
        FabricNode a = await cluster.StartAsync("a", ["r"]);
        b.AddLocalService(new ServiceReplica("echo-svc", "b1", [CoreSubprotocols.Echo]));
        await cluster.ReplicasAsync("a", "echo-svc", CoreSubprotocols.Echo, 1);

        FabricSession fromA = r.Connections.Single(c => c.PeerId == a.Identity.Id).Session;
        FabricSession toB = r.Connections.Single(c => c.PeerId == b.Identity.Id).Session;
        long openedByA = fromA.Statistics.StreamsOpenedByPeer;
        long openedToB = toB.Statistics.StreamsOpenedLocally;
        long sentToB = toB.Statistics.DataBytesSent(TrafficClass.Reliable);
        long sentToA = fromA.Statistics.DataBytesSent(TrafficClass.Reliable);

        const int Size = 500_000;
        await using (RoutedStream stream = await a.OpenServiceStreamAsync("echo-svc", CoreSubprotocols.Echo).WaitAsync(TestTimeouts.Long))
        {
            await NodeCluster.EchoRoundTripAsync(stream, Size);
        }

        // The relay opened one stream on towards b for the one a opened to it, and carried the payload (plus the
        // end-to-end handshake and record overhead) both ways.
        Assert.Equal(openedByA + 1, fromA.Statistics.StreamsOpenedByPeer);
        Assert.Equal(openedToB + 1, toB.Statistics.StreamsOpenedLocally);
        Assert.InRange(toB.Statistics.DataBytesSent(TrafficClass.Reliable) - sentToB, Size, Size * 2);
        Assert.InRange(fromA.Statistics.DataBytesSent(TrafficClass.Reliable) - sentToA, Size, Size * 2);
    }

    [Fact]
    public async Task OpenServiceStream_VendorSubprotocolThroughRelay_RelayNeitherKnowsNorSeesIt()
    {
        await using var cluster = new NodeCluster("a", "r", "b");
        FabricNode r = await cluster.StartAsync("r");
        FabricNode b = await cluster.StartAsync("b", ["r"]);
        FabricNode a = await cluster.StartAsync("a", ["r"]);
        NodeCluster.RegisterVendorEcho(a);
        NodeCluster.RegisterVendorEcho(b);
        b.AddLocalService(new ServiceReplica("vendor-svc", "b1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "vendor-svc", NodeCluster.Vendor, 1);

        await using RoutedStream stream = await a.OpenServiceStreamAsync("vendor-svc", NodeCluster.Vendor).WaitAsync(TestTimeouts.Long);
        await NodeCluster.EchoRoundTripAsync(stream, 64 * 1024);

        Assert.True(stream.Relayed);
        Assert.Null(r.Subprotocols.Find(NodeCluster.Vendor));
        Assert.DoesNotContain(NodeCluster.Vendor, r.Directory.Origins().Single(o => o.Announcement.Origin == r.Identity.Id).Announcement.Capabilities);

        // The relay's manifest exchange with a did not agree on the vendor id either: it only spliced relay bytes.
        Assert.False(r.Connections.Single(c => c.PeerId == a.Identity.Id).Negotiated.Supports(NodeCluster.Vendor));
    }

    [Fact]
    public async Task OpenServiceStream_RelayInUseStops_NextStreamsTakeTheOtherRelay()
    {
        // A diamond: a reaches b through r1 or r2, two hops either way.
        await using var cluster = new NodeCluster("a", "r1", "r2", "b");
        FabricNode b = await cluster.StartAsync("b");
        await cluster.StartAsync("r1", ["b"]);
        await cluster.StartAsync("r2", ["b"]);
        FabricNode a = await cluster.StartAsync("a", ["r1", "r2"]);
        b.AddLocalService(new ServiceReplica("echo-svc", "b1", [CoreSubprotocols.Echo]));
        await cluster.ReplicasAsync("a", "echo-svc", CoreSubprotocols.Echo, 1);

        ReplicaRoute first = await cluster.OpenAndEchoAsync("a", "echo-svc", CoreSubprotocols.Echo);
        string used = first.NextHop == cluster.Identity("r1").Id ? "r1" : "r2";
        string other = used == "r1" ? "r2" : "r1";
        await cluster.StopAsync(used);

        await Eventually.TrueAsync(() => a.Directory.FindReplicas("echo-svc", CoreSubprotocols.Echo) is [{ } r] && r.NextHop == cluster.Identity(other).Id, $"a routes to b through {other}", TestTimeouts.Long);
        for (int i = 0; i < 10; i++)
        {
            ReplicaRoute route = await cluster.OpenAndEchoAsync("a", "echo-svc", CoreSubprotocols.Echo);
            Assert.Equal(cluster.Identity(other).Id, route.NextHop);
            Assert.Equal(2, route.Hops);
        }
    }

    [Fact]
    public async Task RelayedStream_RelayKilledMidStream_BothEndsFailPromptly()
    {
        await using var cluster = new NodeCluster("a", "r", "b");
        FabricNode r = await cluster.StartAsync("r");
        TcpForwarder aToR = cluster.Own(new TcpForwarder(r.ListenEndPoint!));
        TcpForwarder bToR = cluster.Own(new TcpForwarder(r.ListenEndPoint!));
        FabricNode b = await cluster.StartAsync("b", configure: o => o with { Peers = [cluster.PeerOf("r", bToR.EndPoint)] });
        FabricNode a = await cluster.StartAsync("a", configure: o => o with { Peers = [cluster.PeerOf("r", aToR.EndPoint)] });
        var handlerEnded = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        b.RegisterHandler(new SubprotocolDescriptor(NodeCluster.Vendor, "test.echo-watch", new SubprotocolVersion(1, 0), new SubprotocolVersion(1, 0)), async (context, ct) =>
        {
            try
            {
                await context.Stream.CopyToAsync(context.Stream, ct);
                handlerEnded.TrySetResult(null);
            }
            catch (Exception ex)
            {
                handlerEnded.TrySetResult(ex);
                throw;
            }
        });
        NodeCluster.RegisterVendorEcho(a);
        b.AddLocalService(new ServiceReplica("watched", "b1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "watched", NodeCluster.Vendor, 1);

        await using RoutedStream stream = await a.OpenServiceStreamAsync("watched", NodeCluster.Vendor).WaitAsync(TestTimeouts.Long);
        await NodeCluster.EchoRoundTripAsync(stream);

        // Both of r's links die at once, as when its host goes down.
        aToR.Kill();
        bToR.Kill();

        Exception? atOpener = await Record.ExceptionAsync(async () =>
        {
            byte[] buffer = new byte[16];
            while (await stream.ReadAsync(buffer).AsTask().WaitAsync(TestTimeouts.Short) > 0)
            {
            }
        });
        Assert.IsAssignableFrom<IOException>(atOpener);
        await handlerEnded.Task.WaitAsync(TestTimeouts.Short);
    }
}
