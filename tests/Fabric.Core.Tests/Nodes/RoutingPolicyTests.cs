using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

/// <summary>
/// Replica choice by policy: a is linked to b1 directly (1 hop) and reaches b2 through relay r (2 hops); both host
/// replicas of one service.
/// </summary>
public class RoutingPolicyTests
{
    private const string Service = "svc";
    private static readonly ushort Echo = CoreSubprotocols.Echo;

    private static async Task<NodeCluster> StartAsync(ServiceReplica onB1, ServiceReplica onB2)
    {
        var cluster = new NodeCluster("a", "r", "b1", "b2");
        try
        {
            Func<FabricNodeOptions, FabricNodeOptions> fast = o => o with { Routing = o.Routing with { MinAnnounceInterval = TimeSpan.FromMilliseconds(100) } };
            await cluster.StartAsync("b1", configure: fast);
            await cluster.StartAsync("r");
            await cluster.StartAsync("b2", ["r"], fast);
            await cluster.StartAsync("a", ["b1", "r"]);
            cluster["b1"].AddLocalService(onB1);
            cluster["b2"].AddLocalService(onB2);
            await cluster.ReplicasAsync("a", Service, Echo, 2);
            await Eventually.TrueAsync(() => cluster["a"].Directory.FindReplicas(Service, Echo).Single(r => r.Origin == cluster.Identity("b2").Id).Hops == 2, "b2 at 2 hops", TestTimeouts.Long);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static async Task<Dictionary<string, int>> OpenManyAsync(NodeCluster cluster, int count, RoutingPolicy policy)
    {
        var counts = new Dictionary<string, int> { ["b1"] = 0, ["b2"] = 0 };
        for (int i = 0; i < count; i++)
        {
            ReplicaRoute route = await cluster.OpenAndEchoAsync("a", Service, Echo, new RouteOptions { Policy = policy });
            counts[route.Origin == cluster.Identity("b1").Id ? "b1" : "b2"]++;
        }

        return counts;
    }

    private static Task AnnouncedAsync(NodeCluster cluster, string node, Func<ReplicaRoute, bool> condition, string what)
    {
        NodeId id = cluster.Identity(node).Id;
        return Eventually.TrueAsync(() => cluster["a"].Directory.FindReplicas(Service, Echo).Any(r => r.Origin == id && condition(r)), what, TestTimeouts.Long);
    }

    [Fact]
    public async Task OpenServiceStream_Nearest_PicksFewestHops()
    {
        await using NodeCluster cluster = await StartAsync(new ServiceReplica(Service, "i1", [Echo]), new ServiceReplica(Service, "i2", [Echo]));

        Dictionary<string, int> counts = await OpenManyAsync(cluster, 20, RoutingPolicy.Nearest);

        Assert.Equal(20, counts["b1"]);
    }

    [Fact]
    public async Task OpenServiceStream_LeastLoaded_PicksLowestPressureThenFollowsIt()
    {
        await using NodeCluster cluster = await StartAsync(new ServiceReplica(Service, "i1", [Echo]), new ServiceReplica(Service, "i2", [Echo]));
        cluster["b1"].Pressure = 90;
        cluster["b2"].Pressure = 10;
        await AnnouncedAsync(cluster, "b1", r => r.Pressure == 90, "b1 announces pressure 90");
        await AnnouncedAsync(cluster, "b2", r => r.Pressure == 10, "b2 announces pressure 10");

        Assert.Equal(10, (await OpenManyAsync(cluster, 10, RoutingPolicy.LeastLoaded))["b2"]);

        cluster["b1"].Pressure = 5;
        await AnnouncedAsync(cluster, "b1", r => r.Pressure == 5, "b1 announces pressure 5");
        Assert.Equal(10, (await OpenManyAsync(cluster, 10, RoutingPolicy.LeastLoaded))["b1"]);
    }

    [Fact]
    public async Task OpenServiceStream_Weighted_SplitsByWeights()
    {
        await using NodeCluster cluster = await StartAsync(new ServiceReplica(Service, "i1", [Echo], Weight: 300), new ServiceReplica(Service, "i2", [Echo], Weight: 100));

        const int Opens = 300;
        Dictionary<string, int> counts = await OpenManyAsync(cluster, Opens, RoutingPolicy.Weighted);

        // Expected 225 / 75; three standard deviations (7.5) either side and then some.
        Assert.InRange(counts["b1"], 195, 255);
        Assert.Equal(Opens, counts["b1"] + counts["b2"]);
    }

    [Fact]
    public async Task OpenServiceStream_PriorityFailover_UsesTierZeroUntilUnhealthyOrDraining()
    {
        // b2 is farther but in tier 0.
        await using NodeCluster cluster = await StartAsync(new ServiceReplica(Service, "i1", [Echo], Priority: 1), new ServiceReplica(Service, "i2", [Echo], Priority: 0));
        FabricNode b2 = cluster["b2"];

        Assert.Equal(10, (await OpenManyAsync(cluster, 10, RoutingPolicy.PriorityFailover))["b2"]);

        b2.SetLocalServiceHealth(Service, "i2", ReplicaHealth.Degraded);
        await AnnouncedAsync(cluster, "b2", r => r.Replica.Health == ReplicaHealth.Degraded, "b2 degraded");
        Assert.Equal(10, (await OpenManyAsync(cluster, 10, RoutingPolicy.PriorityFailover))["b2"]);

        b2.SetLocalServiceHealth(Service, "i2", ReplicaHealth.Unhealthy);
        await AnnouncedAsync(cluster, "b2", r => r.Replica.Health == ReplicaHealth.Unhealthy, "b2 unhealthy");
        Assert.Equal(10, (await OpenManyAsync(cluster, 10, RoutingPolicy.PriorityFailover))["b1"]);

        b2.SetLocalServiceHealth(Service, "i2", ReplicaHealth.Healthy);
        await AnnouncedAsync(cluster, "b2", r => r.Replica.Health == ReplicaHealth.Healthy, "b2 healthy");
        Assert.Equal(10, (await OpenManyAsync(cluster, 10, RoutingPolicy.PriorityFailover))["b2"]);

        b2.SetLocalServiceHealth(Service, "i2", ReplicaHealth.Draining);
        await AnnouncedAsync(cluster, "b2", r => r.Replica.Health == ReplicaHealth.Draining, "b2 draining");
        Assert.Equal(10, (await OpenManyAsync(cluster, 10, RoutingPolicy.PriorityFailover))["b1"]);
    }

    [Fact]
    public async Task OpenServiceStream_Nearest_PrefersLocalReplica()
    {
        await using NodeCluster cluster = await StartAsync(new ServiceReplica(Service, "i1", [Echo]), new ServiceReplica(Service, "i2", [Echo]));
        cluster["a"].AddLocalService(new ServiceReplica(Service, "local", [Echo]));

        for (int i = 0; i < 10; i++)
        {
            ReplicaRoute route = await cluster.OpenAndEchoAsync("a", Service, Echo, new RouteOptions { Policy = RoutingPolicy.Nearest });
            Assert.True(route.IsLocal);
            Assert.Equal(0, route.Hops);
        }
    }
}
