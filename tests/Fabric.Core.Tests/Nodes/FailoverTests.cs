using System.Diagnostics;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;
using Xunit.Abstractions;

namespace Fabric.Core.Tests.Nodes;

/// <summary>
/// A service with replicas on b1 and b2; a opens a stream (one echo round trip each) every 10 ms while the replica
/// it uses goes away. Once a's directory has dropped that node (or 1 s after the kill at the latest) no open may
/// fail, and every open must land on the other replica.
/// </summary>
[Collection(TimingCollection.Name)]
public class FailoverTests(ITestOutputHelper output)
{
    public enum Kill
    {
        /// <summary>b1 linked to a directly; its node is disposed (GOAWAY).</summary>
        StopDirect,

        /// <summary>b1 and b2 behind relay r; b1's node is disposed.</summary>
        StopThroughRelay,

        /// <summary>b1 linked to a directly through a forwarder that is killed (RST, then connection refused): a crash.</summary>
        CrashDirect,
    }

    private sealed record Attempt(TimeSpan Started, TimeSpan Ended, NodeId? Origin, Exception? Error);

    [Theory]
    [InlineData(Kill.StopDirect)]
    [InlineData(Kill.StopThroughRelay)]
    [InlineData(Kill.CrashDirect)]
    public async Task OpenServiceStream_ReplicaInUseGoes_NewOpensLandOnOtherReplica(Kill kill)
    {
        const string Service = "svc";
        ushort echo = CoreSubprotocols.Echo;
        await using var cluster = new NodeCluster("a", "r", "b1", "b2");
        TcpForwarder? forwarder = null;
        if (kill == Kill.StopThroughRelay)
        {
            await cluster.StartAsync("r");
            await cluster.StartAsync("b1", ["r"]);
            await cluster.StartAsync("b2", ["r"]);
            await cluster.StartAsync("a", ["r"]);
        }
        else
        {
            await cluster.StartAsync("b1");
            await cluster.StartAsync("b2");
            forwarder = kill == Kill.CrashDirect ? cluster.Own(new TcpForwarder(cluster["b1"].ListenEndPoint!)) : null;
            await cluster.StartAsync("a", configure: o => o with { Peers = [cluster.PeerOf("b1", forwarder?.EndPoint), cluster.PeerOf("b2")] });
        }

        cluster["b1"].AddLocalService(new ServiceReplica(Service, "i1", [echo]));
        cluster["b2"].AddLocalService(new ServiceReplica(Service, "i2", [echo]));
        await cluster.ReplicasAsync("a", Service, echo, 2);
        FabricNode a = cluster["a"];

        var clock = Stopwatch.StartNew();
        var attempts = new List<Attempt>();
        using var stop = new CancellationTokenSource();
        Task opener = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                TimeSpan started = clock.Elapsed;
                try
                {
                    ReplicaRoute route = await cluster.OpenAndEchoAsync("a", Service, echo, timeout: TestTimeouts.Short);
                    lock (attempts)
                    {
                        attempts.Add(new Attempt(started, clock.Elapsed, route.Origin, null));
                    }
                }
                catch (Exception ex)
                {
                    lock (attempts)
                    {
                        attempts.Add(new Attempt(started, clock.Elapsed, null, ex));
                    }
                }

                await Task.Delay(10);
            }
        });

        await Eventually.TrueAsync(() => Snapshot(attempts).Count(t => t.Error is null) >= 20, "20 opens before the kill", TestTimeouts.Long);
        Attempt lastBefore = Snapshot(attempts).Last(t => t.Error is null);
        string victim = lastBefore.Origin == cluster.Identity("b1").Id ? "b1" : "b2";
        string survivor = victim == "b1" ? "b2" : "b1";
        if (kill == Kill.CrashDirect && victim == "b2")
        {
            // The forwarder is in front of b1: make b1 the one in use by taking b2 out of the ranking for a moment.
            cluster["b2"].SetLocalServiceHealth(Service, "i2", ReplicaHealth.Draining);
            await Eventually.TrueAsync(() => Snapshot(attempts).Last().Origin == cluster.Identity("b1").Id, "opens land on b1", TestTimeouts.Long);
            cluster["b2"].SetLocalServiceHealth(Service, "i2", ReplicaHealth.Healthy);
            await cluster.ReplicasAsync("a", Service, echo, 2);
            await Eventually.TrueAsync(() => a.Directory.FindReplicas(Service, echo).All(r => r.Replica.Health == ReplicaHealth.Healthy), "b2 healthy again", TestTimeouts.Long);
            (victim, survivor) = ("b1", "b2");
        }

        NodeId victimId = cluster.Identity(victim).Id;
        NodeId survivorId = cluster.Identity(survivor).Id;
        Assert.All(Snapshot(attempts).TakeLast(5), t => Assert.Null(t.Error));

        TimeSpan droppedAt = TimeSpan.MaxValue;
        Task watcher = Task.Run(async () =>
        {
            while (a.Directory.TryGetOrigin(victimId, out _, out _, out _, out _))
            {
                await Task.Delay(1);
            }

            droppedAt = clock.Elapsed;
        });

        TimeSpan killedAt = clock.Elapsed;
        if (kill == Kill.CrashDirect)
        {
            forwarder!.Kill();
        }
        else
        {
            await cluster.StopAsync(victim);
        }

        await watcher.WaitAsync(TimeSpan.FromSeconds(10));
        TimeSpan boundary = droppedAt < killedAt + TimeSpan.FromSeconds(1) ? droppedAt : killedAt + TimeSpan.FromSeconds(1);

        // Count opens rather than wait a fixed time: on a loaded machine the opener may get few turns in 1.5 s.
        await Eventually.TrueAsync(() => Snapshot(attempts).Count(t => t.Started >= boundary) >= 30, "30 opens after the bound", TestTimeouts.Long);
        await stop.CancelAsync();
        await opener.WaitAsync(TestTimeouts.Long);

        List<Attempt> all = Snapshot(attempts);
        Attempt? firstOnSurvivor = all.FirstOrDefault(t => t.Started >= killedAt && t.Origin == survivorId);
        Assert.True(
            firstOnSurvivor is not null,
            $"no open after the kill landed on {survivor}: "
            + string.Join("; ", all.Where(t => t.Started >= killedAt).Take(10).Select(t => $"+{(t.Started - killedAt).TotalMilliseconds:F0} ms {(t.Error is null ? t.Origin?.ToString() : t.Error.GetType().Name + ": " + t.Error.Message)}")));
        int failedInWindow = all.Count(t => t.Ended >= killedAt && t.Started < boundary && t.Error is not null);
        List<Attempt> after = [.. all.Where(t => t.Started >= boundary)];
        output.WriteLine($"{kill}: victim {victim}; directory dropped it {(droppedAt - killedAt).TotalMilliseconds:F0} ms after the kill; "
            + $"first stream served by {survivor} {(firstOnSurvivor.Ended - killedAt).TotalMilliseconds:F0} ms after the kill; "
            + $"{failedInWindow} open(s) failed before that bound; {after.Count} opens after it");
        foreach (Attempt failed in all.Where(t => t.Error is not null))
        {
            output.WriteLine($"  failed at +{(failed.Started - killedAt).TotalMilliseconds:F0} ms: {failed.Error!.GetType().Name}: {failed.Error.Message}");
        }

        Assert.True(droppedAt - killedAt < TimeSpan.FromSeconds(2), $"a's directory dropped {victim} {(droppedAt - killedAt).TotalMilliseconds:F0} ms after the kill");
        Assert.True(after.Count >= 30, $"only {after.Count} opens after the bound");
        Assert.All(after, t =>
        {
            Assert.Null(t.Error);
            Assert.Equal(survivorId, t.Origin);
        });
        Assert.True(firstOnSurvivor.Ended - killedAt < TimeSpan.FromSeconds(1), $"failover took {(firstOnSurvivor.Ended - killedAt).TotalMilliseconds:F0} ms");

        // No open hangs across the kill: a stream the stopping node's session had accepted before its GOAWAY is served
        // (or refused) at once, not left waiting for the session to be torn down.
        Attempt slowest = all.Where(t => t.Ended >= killedAt).MaxBy(t => t.Ended - t.Started)!;
        Assert.True(slowest.Ended - slowest.Started < TimeSpan.FromSeconds(2), $"an open started at +{(slowest.Started - killedAt).TotalMilliseconds:F0} ms took {(slowest.Ended - slowest.Started).TotalMilliseconds:F0} ms");
    }

    private static List<Attempt> Snapshot(List<Attempt> attempts)
    {
        lock (attempts)
        {
            return [.. attempts];
        }
    }
}
