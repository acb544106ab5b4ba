using System.Diagnostics;
using System.Text.Json;
using Fabric.Gateway.Tests.Http;
using Fabric.Gateway.Tests.Processes;
using Xunit.Abstractions;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// A gRPC service with one replica on each of two egress nodes, called through a third node's ingress by grpcio
/// under steady load, while one egress node is stopped gracefully (SIGTERM): every call succeeds (those in flight
/// finish on the stopping node, new ones go to the other), and the stopping node exits well before its drain timeout.
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed class GrpcEgressDrainTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string TestService = "grpc.testing.TestService";
    private readonly TempDirectory _temp = new();
    private readonly List<IDisposable> _owned = [];

    public Task InitializeAsync()
    {
        InteropPeers.RequireInstalled();
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        foreach (IDisposable owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }

        _temp.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task SigtermOneOfTwoEgresses_UnderGrpcioLoad_EveryCallOk_ItExitsSoon()
    {
        string plugins = _temp.File("plugins");
        GrpcGatewayNode.CopyGrpcPlugin(plugins);
        string gen = _temp.File("gen");
        await InteropPeers.GenerateAsync(gen);
        InteropServer r1 = Own(await InteropServer.StartAsync("r1", gen, _temp.Path));
        InteropServer r2 = Own(await InteropServer.StartAsync("r2", gen, _temp.Path));

        string[] names = ["a", "b1", "b2"];
        string[] keys = await Task.WhenAll(names.Select(n => GatewayProcess.KeygenAsync(_temp.File($"{n}.key"), _temp.Path)));
        var fabricPort = names.ToDictionary(n => n, _ => GatewayProcess.FreePort());
        int grpcPort = GatewayProcess.FreePort();
        IEnumerable<KeyValuePair<string, string>> Node(string name, params (string Key, string Value)[] more)
        {
            yield return new("Fabric:Identity:KeyFile", _temp.File($"{name}.key"));
            for (int i = 0; i < keys.Length; i++)
            {
                yield return new($"Fabric:Trust:PinnedKeys:{i}", keys[i]);
            }

            foreach ((string key, string value) in more)
            {
                yield return new(key, value);
            }
        }

        // b1 and b2 each host one replica; a dials both and routes the test service to it.
        GrpcGatewayNode StartEgress(string name, InteropServer replica) => Own(GrpcGatewayNode.Start(name, fabricPort[name], _temp.Path, plugins, Node(
            name,
            ("Fabric:Peers:0:Address", $"127.0.0.1:{fabricPort["a"]}"),
            ("Fabric:Peers:0:PublicKey", keys[0]),
            ("Plugins:Settings:grpc:HealthCheckSeconds", "0.5"),
            ("Plugins:Settings:grpc:Services:0:Name", "interop"),
            ("Plugins:Settings:grpc:Services:0:Instance", replica.Replica),
            ("Plugins:Settings:grpc:Services:0:Backend", replica.BackendUrl))));
        GrpcGatewayNode b1 = StartEgress("b1", r1);
        GrpcGatewayNode b2 = StartEgress("b2", r2);
        GrpcGatewayNode a = Own(GrpcGatewayNode.Start("a", fabricPort["a"], _temp.Path, plugins, Node(
            "a",
            ("Fabric:Peers:0:Address", $"127.0.0.1:{fabricPort["b1"]}"),
            ("Fabric:Peers:0:PublicKey", keys[1]),
            ("Fabric:Peers:1:Address", $"127.0.0.1:{fabricPort["b2"]}"),
            ("Fabric:Peers:1:PublicKey", keys[2]),
            ("Plugins:Settings:grpc:Listen:0", $"h2c://127.0.0.1:{grpcPort}"),
            ("Plugins:Settings:grpc:Routes:0:Match", TestService),
            ("Plugins:Settings:grpc:Routes:0:Service", "interop"))));
        await Task.WhenAll(a.WaitReadyAsync(TimeSpan.FromSeconds(90)), b1.WaitReadyAsync(TimeSpan.FromSeconds(90)), b2.WaitReadyAsync(TimeSpan.FromSeconds(90)));
        string ingress = $"127.0.0.1:{grpcPort}";

        // Both replicas serve through a before the stop.
        var clock = Stopwatch.StartNew();
        while (true)
        {
            JsonElement split = await InteropPeers.RunJsonAsync(gen, ingress, TimeSpan.FromSeconds(60), "--timeout", "5", "split", "40");
            JsonElement by = split.GetProperty("served_by");
            if (by.TryGetProperty("r1", out JsonElement n1) && n1.GetInt32() > 0 && by.TryGetProperty("r2", out JsonElement n2) && n2.GetInt32() > 0)
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"both replicas never served through a: {split}\n{a.Output}");
            await Task.Delay(200);
        }

        // Steady load of 100 ms server-streaming calls; b1 stopped gracefully in the middle of it.
        double stoppedAt;
        TimeSpan exitAfter;
        ClientResult run;
        using (ChildProcess load = InteropPeers.StartClient(gen, ingress, "--timeout", "20", "--workers", "8", "--call-ms", "100", "load", "10"))
        {
            try
            {
                await load.WaitForLineAsync(l => l == "STARTED", TimeSpan.FromSeconds(30), "its first successful call");
                await Task.Delay(2000);
                stoppedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
                var stopping = Stopwatch.StartNew();
                b1.Terminate();
                Assert.True(await b1.WaitForExitAsync(TimeSpan.FromSeconds(45)), $"b1 did not exit within 45 s of SIGTERM:\n{b1.Output}");
                exitAfter = stopping.Elapsed;
                Assert.True(await load.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"load did not finish:\n{load.Output}");
                run = new ClientResult(load.ExitCode, load.StdoutLines, load.Output);
            }
            finally
            {
                load.Kill();
            }
        }

        Assert.True(run.ExitCode == 0, run.Output);
        JsonElement result = run.Json;
        var calls = result.GetProperty("calls").EnumerateArray()
            .Select(c => (Start: c[0].GetDouble(), End: c[1].GetDouble(), Code: c[2].GetString()!, By: c[3].ValueKind == JsonValueKind.String ? c[3].GetString() : null))
            .ToList();
        log.WriteLine($"b1 exited {exitAfter.TotalSeconds:F1} s after SIGTERM; counts {result.GetProperty("counts")}, served_by {result.GetProperty("served_by")}");

        Assert.Equal(0, b1.ExitCode);
        Assert.True(calls.All(c => c.Code == "OK"), $"calls failed while b1 stopped: {result.GetProperty("counts")}");
        Assert.Contains(calls, c => c.By == "r1" && c.End < stoppedAt);
        Assert.True(calls.Count(c => c.Start > stoppedAt + exitAfter.TotalSeconds) >= 20, "too few calls after b1 was gone");
        Assert.True(exitAfter < TimeSpan.FromSeconds(12), $"b1 took {exitAfter.TotalSeconds:F1} s to exit under load (drain timeout 30 s)");
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
