using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

public class VersionTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenServiceStream_OpenerBelowDestinationMinimum_ThrowsIncompatibleSubprotocol(bool throughRelay)
    {
        await using var cluster = new NodeCluster("a", "r", "b");
        FabricNode b = await cluster.StartAsync("b");
        await cluster.StartAsync("r", ["b"]);
        FabricNode a = await cluster.StartAsync("a", [throughRelay ? "r" : "b"]);
        NodeCluster.RegisterVendorEcho(b, new SubprotocolVersion(2, 0), new SubprotocolVersion(2, 0));
        NodeCluster.RegisterVendorEcho(a, new SubprotocolVersion(1, 0), new SubprotocolVersion(1, 0));
        b.AddLocalService(new ServiceReplica("vendor-svc", "b1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "vendor-svc", NodeCluster.Vendor, 1);

        FabricRouteException ex = await Assert.ThrowsAsync<FabricRouteException>(() => a.OpenServiceStreamAsync("vendor-svc", NodeCluster.Vendor).WaitAsync(TestTimeouts.Long));
        Assert.Equal(FabricErrorCode.IncompatibleSubprotocol, ex.Code);
    }

    [Fact]
    public async Task OpenServiceStream_DestinationBelowOpenerMinimum_ThrowsIncompatibleSubprotocol()
    {
        await using var cluster = new NodeCluster("a", "b");
        FabricNode b = await cluster.StartAsync("b");
        FabricNode a = await cluster.StartAsync("a", ["b"]);
        NodeCluster.RegisterVendorEcho(b, new SubprotocolVersion(1, 0), new SubprotocolVersion(1, 0));
        NodeCluster.RegisterVendorEcho(a, new SubprotocolVersion(2, 0), new SubprotocolVersion(2, 0));
        b.AddLocalService(new ServiceReplica("vendor-svc", "b1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "vendor-svc", NodeCluster.Vendor, 1);

        FabricRouteException ex = await Assert.ThrowsAsync<FabricRouteException>(() => a.OpenServiceStreamAsync("vendor-svc", NodeCluster.Vendor).WaitAsync(TestTimeouts.Long));
        Assert.Equal(FabricErrorCode.IncompatibleSubprotocol, ex.Code);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenServiceStream_NewerMinorAgainstSameMajorMinimum_Works(bool throughRelay)
    {
        await using var cluster = new NodeCluster("a", "r", "b");
        FabricNode b = await cluster.StartAsync("b");
        await cluster.StartAsync("r", ["b"]);
        FabricNode a = await cluster.StartAsync("a", [throughRelay ? "r" : "b"]);
        NodeCluster.RegisterVendorEcho(b, new SubprotocolVersion(2, 0), new SubprotocolVersion(2, 0));
        NodeCluster.RegisterVendorEcho(a, new SubprotocolVersion(2, 1), new SubprotocolVersion(2, 0));
        b.AddLocalService(new ServiceReplica("vendor-svc", "b1", [NodeCluster.Vendor]));
        await cluster.ReplicasAsync("a", "vendor-svc", NodeCluster.Vendor, 1);

        ReplicaRoute route = await cluster.OpenAndEchoAsync("a", "vendor-svc", NodeCluster.Vendor);
        Assert.Equal(throughRelay ? 2 : 1, route.Hops);
    }
}
