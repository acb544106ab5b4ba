using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Security;
using Fabric.Core.Sessions;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Tests.Nodes;

/// <summary>a dials b over two paths (two forwarders on different ports in front of b's listener): two links.</summary>
[Collection(TimingCollection.Name)]
public class RedundantLinkTests
{
    private static readonly ushort Echo = CoreSubprotocols.Echo;

    private static async Task<(NodeCluster Cluster, TcpForwarder First, TcpForwarder Second)> StartAsync()
    {
        var cluster = new NodeCluster("a", "b");
        try
        {
            FabricNode b = await cluster.StartAsync("b");
            TcpForwarder first = cluster.Own(new TcpForwarder(b.ListenEndPoint!));
            TcpForwarder second = cluster.Own(new TcpForwarder(b.ListenEndPoint!));
            FabricNode a = await cluster.StartAsync("a", configure: o => o with { Peers = [cluster.PeerOf("b", first.EndPoint), cluster.PeerOf("b", second.EndPoint)] });
            b.AddLocalService(new ServiceReplica("svc", "b1", [Echo]));
            await Eventually.TrueAsync(() => OpenLinks(a, b.Identity.Id) == 2, "two links from a to b", TestTimeouts.Long);
            await cluster.ReplicasAsync("a", "svc", Echo, 1);
            return (cluster, first, second);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static int OpenLinks(FabricNode node, NodeId peer) => node.Connections.Count(c => c.PeerId == peer && c.Session.State == FabricSessionState.Open);

    [Fact]
    public async Task DialTwoAddresses_SamePeer_TwoSessionsBothCarryStreams()
    {
        (NodeCluster cluster, TcpForwarder first, TcpForwarder second) = await StartAsync();
        await using (cluster)
        {
            FabricNode a = cluster["a"];
            Assert.Equal(1, first.Accepted);
            Assert.Equal(1, second.Accepted);
            Assert.All(a.Connections, c => Assert.True(c.Dialed));

            // Streams spread over both links (least-loaded session first).
            RoutedStream[] streams = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => a.OpenServiceStreamAsync("svc", Echo))).WaitAsync(TestTimeouts.Long);
            try
            {
                Assert.All(a.Connections, c => Assert.True(c.Session.ActiveStreamCount >= 2, "each link carries its control stream and at least one routed stream"));
                await Task.WhenAll(streams.Select(s => NodeCluster.EchoRoundTripAsync(s))).WaitAsync(TestTimeouts.Long);
            }
            finally
            {
                foreach (RoutedStream stream in streams)
                {
                    await stream.DisposeAsync().AsTask().WaitAsync(TestTimeouts.Short);
                }
            }
        }
    }

    [Fact]
    public async Task OneLinkKilled_NewStreams_UseRemainingLinkAtOnce()
    {
        (NodeCluster cluster, TcpForwarder first, _) = await StartAsync();
        await using (cluster)
        {
            FabricNode a = cluster["a"];

            // Streams open back to back (four at a time, so both links carry some) while one path dies.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            TimeSpan killedAt = TimeSpan.MaxValue;
            var failures = new List<(TimeSpan Started, Exception Error)>();
            int succeeded = 0;
            using var stop = new CancellationTokenSource();
            Task[] openers = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    TimeSpan started = clock.Elapsed;
                    try
                    {
                        await cluster.OpenAndEchoAsync("a", "svc", Echo, timeout: TestTimeouts.Short);
                        Interlocked.Increment(ref succeeded);
                    }
                    catch (Exception ex)
                    {
                        lock (failures)
                        {
                            failures.Add((started, ex));
                        }

                        await Task.Delay(10);
                    }
                }
            }))];
            await Eventually.TrueAsync(() => Volatile.Read(ref succeeded) >= 50, "opens before the kill", TestTimeouts.Long);

            killedAt = clock.Elapsed;
            first.Kill();
            await Eventually.TrueAsync(() => OpenLinks(a, cluster.Identity("b").Id) == 1, "a sees one link left", TestTimeouts.Long);
            int atNotice = Volatile.Read(ref succeeded);
            await Eventually.TrueAsync(() => Volatile.Read(ref succeeded) >= atNotice + 100, "opens after the kill", TestTimeouts.Long);
            await stop.CancelAsync();
            await Task.WhenAll(openers).WaitAsync(TestTimeouts.Long);

            // A stream already on the dying link may fail with it; none opened after the kill may.
            List<(TimeSpan Started, Exception Error)> late = [.. failures.Where(f => f.Started > killedAt)];
            Assert.True(late.Count == 0, $"{late.Count} open(s) started after the kill failed: {string.Join("; ", late.Take(5).Select(f => $"+{(f.Started - killedAt).TotalMilliseconds:F1} ms {f.Error.GetType().Name}: {f.Error.Message}"))}");
            Assert.Single(a.Directory.FindReplicas("svc", Echo));

            // Gossip goes on over the remaining link.
            cluster["b"].AddLocalService(new ServiceReplica("svc", "b2", [Echo]));
            await cluster.ReplicasAsync("a", "svc", Echo, 2, TestTimeouts.Short);
        }
    }

    [Fact]
    public async Task DeadPath_WhileDown_RedialedWithBackoffAndRelinkedWhenBack()
    {
        (NodeCluster cluster, TcpForwarder first, _) = await StartAsync();
        await using (cluster)
        {
            FabricNode a = cluster["a"];
            NodeId b = cluster.Identity("b").Id;

            // The path answers every dial with a reset: each dial is counted. Backoff starts at 50 ms and doubles up
            // to 1 s (with up to 50% jitter): about 6 dials in 2.5 s, where a tight loop would make hundreds.
            first.Refuse();
            await Eventually.TrueAsync(() => OpenLinks(a, b) == 1, "a sees one link left", TestTimeouts.Long);
            int dialsBefore = first.Accepted;
            await Task.Delay(2500);
            int dials = first.Accepted - dialsBefore;
            Assert.InRange(dials, 2, 10);

            first.Restart();
            await Eventually.TrueAsync(() => OpenLinks(a, b) == 2, "a relinks over the path that came back", TimeSpan.FromSeconds(5));
            await cluster.OpenAndEchoAsync("a", "svc", Echo);
        }
    }
}
