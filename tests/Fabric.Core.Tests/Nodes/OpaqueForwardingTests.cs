using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Nodes;

public class OpaqueForwardingTests
{
    [Fact]
    public async Task OpenServiceStream_VendorIdUnknownToRelay_StreamsWork()
    {
        await using var cluster = new NodeCluster("a", "r", "b");
        FabricNode r = await cluster.StartAsync("r");
        FabricNode b = await cluster.StartAsync("b", ["r"]);
        FabricNode a = await cluster.StartAsync("a", ["r"]);
        NodeCluster.RegisterVendorEcho(b);
        NodeCluster.RegisterVendorEcho(a);
        b.AddLocalService(new ServiceReplica("vendor-svc", "b1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "vendor-svc", NodeCluster.Vendor, 1);
        Assert.Null(r.Subprotocols.Find(NodeCluster.Vendor));

        RoutedStream[] streams = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => a.OpenServiceStreamAsync("vendor-svc", NodeCluster.Vendor))).WaitAsync(TestTimeouts.Long);
        try
        {
            await Task.WhenAll(streams.Select(s => NodeCluster.EchoRoundTripAsync(s, 50_000))).WaitAsync(TestTimeouts.Long);
            Assert.All(streams, s => Assert.True(s.Relayed));
        }
        finally
        {
            foreach (RoutedStream stream in streams)
            {
                await stream.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
            }
        }
    }

    [Fact]
    public async Task OpenServiceStream_VendorIdWithoutHandlerAtDestination_ThrowsUnknownSubprotocol()
    {
        await using var cluster = new NodeCluster("a", "r", "c");
        await cluster.StartAsync("r");
        FabricNode c = await cluster.StartAsync("c", ["r"]);
        FabricNode a = await cluster.StartAsync("a", ["r"]);
        NodeCluster.RegisterVendorEcho(a);

        // c announces a replica reached with the vendor id but has no handler for it.
        c.AddLocalService(new ServiceReplica("vendor-svc", "c1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "vendor-svc", NodeCluster.Vendor, 1);

        FabricRouteException ex = await Assert.ThrowsAsync<FabricRouteException>(() => a.OpenServiceStreamAsync("vendor-svc", NodeCluster.Vendor).WaitAsync(TestTimeouts.Long));
        Assert.Equal(FabricErrorCode.UnknownSubprotocol, ex.Code);

        // The refusal is an answer, not a failure of the replica: once c handles the id, the next open works.
        NodeCluster.RegisterVendorEcho(c);
        await cluster.OpenAndEchoAsync("a", "vendor-svc", NodeCluster.Vendor);
    }

    [Fact]
    public async Task OpenServiceStream_VendorIdWithoutHandlerOnDirectNeighbor_ThrowsUnknownSubprotocol()
    {
        await using var cluster = new NodeCluster("a", "c");
        FabricNode c = await cluster.StartAsync("c");
        FabricNode a = await cluster.StartAsync("a", ["c"]);
        c.AddLocalService(new ServiceReplica("vendor-svc", "c1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "vendor-svc", NodeCluster.Vendor, 1);

        // Neither side registered the id: a sends an "unregistered" 1.0 preamble and c refuses it.
        FabricRouteException ex = await Assert.ThrowsAsync<FabricRouteException>(() => a.OpenServiceStreamAsync("vendor-svc", NodeCluster.Vendor).WaitAsync(TestTimeouts.Long));
        Assert.Equal(FabricErrorCode.UnknownSubprotocol, ex.Code);
    }
}
