using System.Diagnostics;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;
using Xunit.Abstractions;

namespace Fabric.Core.Tests.Nodes;

/// <summary>
/// Node x links to relay r through a forwarder, a links to r; x hosts a replica. The forwarder then freezes: no more
/// bytes, no FIN, no RST. x must leave r's and a's directories within the bound the options set.
/// </summary>
[Collection(TimingCollection.Name)]
public class DirectoryExpiryTests(ITestOutputHelper output)
{
    private static readonly ushort Echo = CoreSubprotocols.Echo;

    private static async Task<(NodeCluster Cluster, TcpForwarder Path)> StartAsync(Func<FabricNodeOptions, FabricNodeOptions> configure)
    {
        var cluster = new NodeCluster("a", "r", "x");
        try
        {
            FabricNode r = await cluster.StartAsync("r", configure: configure);
            TcpForwarder path = cluster.Own(new TcpForwarder(r.ListenEndPoint!));
            FabricNode x = await cluster.StartAsync("x", configure: o => configure(o) with { Peers = [cluster.PeerOf("r", path.EndPoint)] });
            await cluster.StartAsync("a", ["r"], configure);
            x.AddLocalService(new ServiceReplica("svc", "x1", [Echo]));
            await cluster.ReplicasAsync("a", "svc", Echo, 1);
            return (cluster, path);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task<TimeSpan> FreezeAndMeasureAsync(NodeCluster cluster, TcpForwarder path, TimeSpan bound)
    {
        NodeId x = cluster.Identity("x").Id;
        var clock = Stopwatch.StartNew();
        path.Freeze();
        await Eventually.TrueAsync(
            () => !cluster["r"].Directory.TryGetOrigin(x, out _, out _, out _, out _) && !cluster["a"].Directory.TryGetOrigin(x, out _, out _, out _, out _),
            "x leaves r's and a's directories",
            bound + TimeSpan.FromSeconds(3));
        TimeSpan took = clock.Elapsed;
        output.WriteLine($"x left the directories {took.TotalMilliseconds:F0} ms after its path froze (bound {bound.TotalMilliseconds:F0} ms)");
        Assert.True(took <= bound, $"x left after {took.TotalMilliseconds:F0} ms; the bound is {bound.TotalMilliseconds:F0} ms");
        Assert.Empty(cluster["a"].Directory.FindReplicas("svc", Echo));
        return took;
    }

    [Fact]
    public async Task SilentNode_SessionIdleTimeout_LeavesDirectoriesWithinBound()
    {
        // Pings every 250 ms; a link on which nothing arrives for 1.5 s is closed. TTLs stay long.
        TimeSpan idle = TimeSpan.FromSeconds(1.5);
        (NodeCluster cluster, TcpForwarder path) = await StartAsync(o => o with { Session = o.Session with { IdleTimeout = idle, PingInterval = TimeSpan.FromMilliseconds(250) } });
        await using (cluster)
        {
            // Idle timeout, plus the 250 ms session tick, plus gossip and slack for a loaded machine.
            TimeSpan took = await FreezeAndMeasureAsync(cluster, path, idle + TimeSpan.FromSeconds(1.5));

            // The idle clock runs from the last frame r received, which came at most one ping interval before the
            // freeze (a CI run saw 1499 ms): x cannot go earlier than that, since nothing else tells r.
            TimeSpan ping = TimeSpan.FromMilliseconds(250);
            Assert.True(took >= idle - ping, $"x left {took.TotalMilliseconds:F0} ms after the freeze, before the idle timeout could have passed");
        }
    }

    [Fact]
    public async Task SilentNode_AnnouncementTtl_LeavesDirectoriesWithinBound()
    {
        // The link stays up (30 s idle timeout); x's announcements say they hold 3 s (x re-announces every second).
        TimeSpan ttl = TimeSpan.FromSeconds(3);
        (NodeCluster cluster, TcpForwarder path) = await StartAsync(o => o with { Directory = o.Directory with { AnnouncementTtl = ttl }, Session = o.Session with { IdleTimeout = TimeSpan.FromSeconds(30) } });
        await using (cluster)
        {
            // TTL from the last announcement that got through, plus the 1 s expiry tick, plus gossip and slack.
            await FreezeAndMeasureAsync(cluster, path, ttl + TimeSpan.FromSeconds(2));
            Assert.Contains(cluster["r"].Connections, c => c.PeerId == cluster.Identity("x").Id);
            Assert.True(cluster["r"].Directory.Statistics.Expired >= 1);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LostNode_InMeshWithLoops_LeavesEveryDirectoryAndStaysGone(bool crash)
    {
        // a, r1 and r2 are linked in a triangle (paths to b loop through it); b hangs off r1 through a forwarder.
        await using var cluster = new NodeCluster("a", "r1", "r2", "b");
        FabricNode r1 = await cluster.StartAsync("r1");
        await cluster.StartAsync("r2", ["r1"]);
        await cluster.StartAsync("a", ["r1", "r2"]);
        TcpForwarder path = cluster.Own(new TcpForwarder(r1.ListenEndPoint!));
        FabricNode b = await cluster.StartAsync("b", configure: o => o with { Peers = [cluster.PeerOf("r1", path.EndPoint)] });
        b.AddLocalService(new ServiceReplica("svc", "b1", [Echo]));
        string[] others = ["a", "r1", "r2"];
        foreach (string node in others)
        {
            await cluster.ReplicasAsync(node, "svc", Echo, 1);
        }

        NodeId gone = cluster.Identity("b").Id;
        bool Anywhere() => others.Any(n => cluster[n].Directory.TryGetOrigin(gone, out _, out _, out _, out _));
        var clock = Stopwatch.StartNew();
        if (crash)
        {
            path.Kill();
        }
        else
        {
            await cluster.StopAsync("b");
        }

        await Eventually.TrueAsync(() => !Anywhere(), "b leaves every directory", TimeSpan.FromSeconds(5));
        output.WriteLine($"b left every directory {clock.ElapsedMilliseconds} ms after it went ({(crash ? "crash" : "stop")})");

        // No stale copy circulates back through the loop.
        for (int i = 0; i < 40; i++)
        {
            Assert.False(Anywhere(), "b came back into a directory");
            await Task.Delay(50);
        }
    }
}
