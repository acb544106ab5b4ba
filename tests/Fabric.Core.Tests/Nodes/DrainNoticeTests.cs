using System.Diagnostics;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

/// <summary>
/// A stopping node first announces its replicas as draining (for <see cref="RoutingOptions.DrainNotice"/>) while its
/// links still work, then sends GOAWAY: the other nodes move away before anything is refused, and a draining
/// replica's orderly refusals do not get it ejected, so it is chosen again the moment it is back.
/// </summary>
[Collection(TimingCollection.Name)]
public class DrainNoticeTests
{
    private const string Service = "svc";

    [Fact]
    public async Task StopAsync_ReplicasDrainingAtOtherNodesWhileTheLinkIsStillOpen_ThenGoAway()
    {
        ushort echo = CoreSubprotocols.Echo;
        await using var cluster = new NodeCluster("a", "b");
        await cluster.StartAsync("b", configure: o => o with { Routing = o.Routing with { DrainNotice = TimeSpan.FromSeconds(2) } });
        await cluster.StartAsync("a", ["b"]);
        cluster["b"].AddLocalService(new ServiceReplica(Service, "i1", [echo]));
        await cluster.ReplicasAsync("a", Service, echo, 1);
        FabricNode a = cluster["a"];

        var clock = Stopwatch.StartNew();
        Task stopping = cluster["b"].StopAsync();

        // Within the notice: a sees the replica draining while its link to b is still open.
        await Eventually.TrueAsync(() => a.Directory.FindReplicas(Service, echo).Any(r => r.Replica.Health == ReplicaHealth.Draining), "a sees b's replica draining", TestTimeouts.Short);
        TimeSpan seen = clock.Elapsed;
        Assert.True(seen < TimeSpan.FromSeconds(1.5), $"the draining announcement took {seen.TotalMilliseconds:F0} ms");
        Assert.Contains(a.Connections, c => c.Session.State == FabricSessionState.Open);
        Assert.False(stopping.IsCompleted, "b stopped before its drain notice ended");

        await stopping.WaitAsync(TestTimeouts.Long);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"b stopped {clock.Elapsed.TotalMilliseconds:F0} ms after the stop began, before the 2 s notice");
    }

    [Fact]
    public async Task DrainingReplicaRefusesAnOpen_NotEjected_ChosenAgainOnceHealthy()
    {
        ushort echo = CoreSubprotocols.Echo;
        await using var cluster = new NodeCluster("a", "b");
        await cluster.StartAsync("b");
        await cluster.StartAsync("a", ["b"]);
        cluster["b"].AddLocalService(new ServiceReplica(Service, "i1", [echo]));
        await cluster.ReplicasAsync("a", Service, echo, 1);

        // Opens race the announcement: those that reach b before a hears of it are refused as draining (the
        // others find no healthy replica at a). Every one fails; none may get the replica ejected.
        FabricNode a = cluster["a"];
        Task<RoutedStream>[] racing = [.. Enumerable.Range(0, 16).Select(_ => Task.Run(() => a.OpenServiceStreamAsync(Service, echo)))];
        cluster["b"].SetLocalServiceHealth(Service, "i1", ReplicaHealth.Draining);
        foreach (Task<RoutedStream> open in racing)
        {
            try
            {
                await (await open.WaitAsync(TestTimeouts.Short)).DisposeAsync(); // one that got in before the change
            }
            catch (FabricRouteException)
            {
                // refused as draining, or no healthy replica left at a
            }
        }

        await Eventually.TrueAsync(() => a.Directory.FindReplicas(Service, echo).All(r => r.Replica.Health == ReplicaHealth.Draining), "a sees the replica draining", TestTimeouts.Short);
        await Assert.ThrowsAsync<FabricRouteException>(() => a.OpenServiceStreamAsync(Service, echo));

        // Back to healthy: the very next open is served (a 10 s ejection would refuse it).
        cluster["b"].SetLocalServiceHealth(Service, "i1", ReplicaHealth.Healthy);
        await Eventually.TrueAsync(() => a.Directory.FindReplicas(Service, echo).All(r => r.Replica.Health == ReplicaHealth.Healthy), "a sees the replica healthy", TestTimeouts.Short);
        ReplicaRoute served = await cluster.OpenAndEchoAsync("a", Service, echo, timeout: TestTimeouts.Short);
        Assert.Equal(cluster.Identity("b").Id, served.Origin);
    }
}
