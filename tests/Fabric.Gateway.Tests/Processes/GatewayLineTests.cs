using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Fabric.Core.Discovery;
using Fabric.Core.Nodes;
using Fabric.Core.Routing;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;

namespace Fabric.Gateway.Tests.Processes;

/// <summary>
/// Three gateway processes in a line a ── r ── b on 127.0.0.1, b hosting an "echo" service; keys made by the
/// binary's <c>keygen</c>, everything else on the command line. The test process checks a's admin API and runs its
/// own in-process node t linked to a, so t ── a ── r ── b carries a real stream across the three processes.
/// </summary>
public sealed class GatewayLineTests(GatewayKeys keys) : IClassFixture<GatewayKeys>, IAsyncLifetime
{
    private const string Service = "echo-svc";
    private const string DeniedService = "denied-svc";
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan LossBound = TimeSpan.FromSeconds(5);

    private readonly TempDirectory _temp = new();
    private readonly List<GatewayProcess> _gateways = [];
    private NodeIdentity? _testIdentity;
    private FabricNode? _testNode;
    private bool _disposed;

    private GatewayProcess A => _gateways.Single(g => g.Name == "a");

    private GatewayProcess R => _gateways.Single(g => g.Name == "r");

    private GatewayProcess B => _gateways.Single(g => g.Name == "b");

    public async Task InitializeAsync()
    {
        try
        {
            await StartLineAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartLineAsync()
    {
        _testIdentity = NodeIdentity.Generate();
        string[] names = GatewayKeys.Names;
        var key = names.ToDictionary(n => n, keys.PublicKey);
        var port = names.ToDictionary(n => n, _ => GatewayProcess.FreePort());
        string[] pinned = [.. names.Select(keys.PublicKey), Convert.ToBase64String(_testIdentity.PublicKey)];

        IEnumerable<KeyValuePair<string, string>> Settings(string name, string dials, params (string Key, string Value)[] more)
        {
            yield return new("Fabric:Identity:KeyFile", keys.KeyFile(name));
            for (int i = 0; i < pinned.Length; i++)
            {
                yield return new($"Fabric:Trust:PinnedKeys:{i}", pinned[i]);
            }

            // Every node overrides Peers:0: the shipped appsettings.json lists a self-link there, and configuration
            // merges arrays by index, so it cannot be removed from the command line. r and b dial each other.
            yield return new("Fabric:Peers:0:Address", $"127.0.0.1:{port[dials]}");
            yield return new("Fabric:Peers:0:PublicKey", key[dials]);
            foreach ((string k, string v) in more)
            {
                yield return new(k, v);
            }
        }

        // All three start at once (links come up as the dials retry); r announces only the relay role; b hosts two
        // echo services and denies one of them to everyone.
        _gateways.Add(GatewayProcess.Start("r", port["r"], _temp.Path, Settings("r", "b", ("Fabric:Roles:0", "relay"))));
        _gateways.Add(GatewayProcess.Start("b", port["b"], _temp.Path, Settings(
            "b",
            "r",
            ("Fabric:Services:0:Name", Service),
            ("Fabric:Services:0:Instance", "b1"),
            ("Fabric:Services:0:Subprotocols:0", "echo"),
            ("Fabric:Services:1:Name", DeniedService),
            ("Fabric:Services:1:Subprotocols:0", "echo"),
            ("Fabric:Access:Rules:0:Services:0", DeniedService),
            ("Fabric:Access:Rules:0:Action", "Deny"))));
        _gateways.Add(GatewayProcess.Start("a", port["a"], _temp.Path, Settings("a", "r")));
        await Task.WhenAll(_gateways.Select(g => g.WaitReadyAsync(TimeSpan.FromSeconds(60))));

        var trust = new FabricTrust(pinnedPublicKeys: [.. names.Select(n => PublicKeys.ParseBase64(key[n]))]);
        _testNode = new FabricNode(_testIdentity, trust, new FabricNodeOptions
        {
            Name = "t",
            Peers = [new PeerEndpoint(new IPEndPoint(IPAddress.Loopback, port["a"]), PublicKeys.ParseBase64(key["a"]))],
            ReconnectMinDelay = TimeSpan.FromMilliseconds(100),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        });
        await _testNode.StartAsync().WaitAsync(TimeSpan.FromSeconds(5));
    }

    public async Task DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (_testNode is not null)
            {
                await _testNode.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
            }
        }
        finally
        {
            foreach (GatewayProcess gateway in _gateways)
            {
                gateway.Dispose();
            }

            _testIdentity?.Dispose();
            _temp.Dispose();
        }
    }

    [Fact]
    public async Task LineOfGateways_ReplicaOnB_AppearsInAsServicesAtTwoHopsAndServesThroughThreeProcesses()
    {
        JsonElement replica = (await WaitForAsync(() => FindReplicaAsync(A), r => r is not null, "b's replica in a's /services", Converge))!.Value;
        Assert.Equal(2, replica.GetProperty("hops").GetInt32());
        Assert.Equal("b", replica.GetProperty("node").GetString());
        Assert.Equal("Healthy", replica.GetProperty("health").GetString());
        Assert.Contains("0x0003", replica.GetProperty("subprotocols").EnumerateArray().Select(e => e.GetString()));
        Assert.False(replica.GetProperty("local").GetBoolean());

        JsonElement local = (await FindReplicaAsync(B))!.Value;
        Assert.True(local.GetProperty("local").GetBoolean());
        Assert.Equal(0, local.GetProperty("hops").GetInt32());

        // A stream from this process through a and r to b's echo handler, end-to-end encrypted.
        await WaitForAsync(() => Task.FromResult(_testNode!.Directory.FindReplicas(Service, CoreSubprotocols.Echo).Count), n => n == 1, "t learns of b's replica", Converge);
        await using RoutedStream stream = await _testNode!.OpenServiceStreamAsync(Service, CoreSubprotocols.Echo).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, stream.Route.Hops);
        Assert.True(stream.Relayed);
        byte[] payload = System.Security.Cryptography.RandomNumberGenerator.GetBytes(100_000);
        Task send = stream.WriteAsync(payload).AsTask();
        byte[] back = new byte[payload.Length];
        await stream.ReadExactlyAsync(back).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        await send.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(payload, back);
    }

    [Fact]
    public async Task LineOfGateways_RolesAndAccessRuleOnCommandLine_ApplyExactlyAsConfigured()
    {
        await WaitForAsync(() => Task.FromResult(_testNode!.Directory.FindReplicas(DeniedService, CoreSubprotocols.Echo).Count), n => n == 1, "t learns of b's second replica", Converge);
        await WaitForAsync(() => Task.FromResult(_testNode!.Directory.FindReplicas(Service, CoreSubprotocols.Echo).Count), n => n == 1, "t learns of b's replica", Converge);

        // The deny rule names one service: it refuses that one and no other.
        FabricRouteException ex = await Assert.ThrowsAsync<FabricRouteException>(() => _testNode!.OpenServiceStreamAsync(DeniedService, CoreSubprotocols.Echo).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(Fabric.Core.Sessions.FabricErrorCode.AccessDenied, ex.Code);
        await using (RoutedStream stream = await _testNode!.OpenServiceStreamAsync(Service, CoreSubprotocols.Echo).WaitAsync(TimeSpan.FromSeconds(10)))
        {
            await stream.WriteAsync(new byte[] { 1, 2, 3 }).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            byte[] back = new byte[3];
            await stream.ReadExactlyAsync(back).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(new byte[] { 1, 2, 3 }, back);
        }

        // r announces exactly the roles it was given; b, given none, all four.
        JsonElement directory = await A.GetJsonAsync("/directory");
        string[] Roles(string name) => [.. directory.EnumerateArray().Single(o => o.GetProperty("name").GetString() == name).GetProperty("roles").EnumerateArray().Select(e => e.GetString()!)];
        Assert.Equal(["relay"], Roles("r"));
        Assert.Equal(["entry", "relay", "exit", "service-host"], Roles("b"));
    }

    [Fact]
    public async Task LineOfGateways_BKilled_ReplicaLeavesAsServicesWithinBound()
    {
        await WaitForAsync(() => FindReplicaAsync(A), r => r is not null, "b's replica in a's /services", Converge);

        var clock = Stopwatch.StartNew();
        B.Kill();
        await WaitForAsync(() => FindReplicaAsync(A), r => r is null, "b's replica gone from a's /services", LossBound);
        TimeSpan took = clock.Elapsed;

        // r is still there, b is not.
        JsonElement directory = await A.GetJsonAsync("/directory");
        string[] names = [.. directory.EnumerateArray().Select(o => o.GetProperty("name").GetString()!)];
        Assert.Contains("r", names);
        Assert.DoesNotContain("b", names);
        Assert.True(took < LossBound, $"took {took.TotalMilliseconds:F0} ms");
        await WaitForAsync(() => Task.FromResult(_testNode!.Directory.FindReplicas(Service, CoreSubprotocols.Echo).Count), n => n == 0, "t drops b's replica", LossBound);
        FabricRouteException ex = await Assert.ThrowsAsync<FabricRouteException>(() => _testNode!.OpenServiceStreamAsync(Service, CoreSubprotocols.Echo).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(Fabric.Core.Sessions.FabricErrorCode.NoRoute, ex.Code);
    }

    [Fact]
    public async Task LineOfGateways_RelayKilled_ADropsBFromItsDirectory()
    {
        await WaitForAsync(() => FindReplicaAsync(A), r => r is not null, "b's replica in a's /services", Converge);

        R.Kill();
        JsonElement directory = await WaitForAsync(
            () => A.GetJsonAsync("/directory"),
            d => !d.EnumerateArray().Any(o => o.GetProperty("name").GetString() is "b" or "r"),
            "a's directory drops b and r",
            LossBound);

        Assert.Equal(["a", "t"], directory.EnumerateArray().Select(o => o.GetProperty("name").GetString()).Order());
        Assert.Null(await FindReplicaAsync(A));
        Assert.False(B.HasExited);
    }

    private static async Task<JsonElement?> FindReplicaAsync(GatewayProcess gateway)
    {
        JsonElement services = await gateway.GetJsonAsync("/services");
        foreach (JsonElement replica in services.EnumerateArray())
        {
            if (replica.GetProperty("service").GetString() == Service)
            {
                return replica;
            }
        }

        return null;
    }

    private async Task<T> WaitForAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            T value = await probe().WaitAsync(TimeSpan.FromSeconds(10));
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for: {what}\n{string.Concat(_gateways.Select(g => g.Output))}");
            }

            await Task.Delay(50);
        }
    }
}
