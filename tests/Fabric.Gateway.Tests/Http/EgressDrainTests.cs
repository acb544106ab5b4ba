using System.Diagnostics;
using System.Globalization;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// Stopping the node that serves a service (the egress) while another node's proxy (the ingress) holds idle
/// keep-alive connections to it through the fabric: the egress announces its replicas as draining, the ingress
/// stops choosing them and lets its idle connections go, and the egress's drain ends long before its timeout.
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed class EgressDrainTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private readonly Pair _pair = new();

    public Task InitializeAsync() => _pair.InitializeAsync();

    public Task DisposeAsync() => _pair.DisposeAsync();

    [Fact]
    public async Task SigtermEgress_AfterTraffic_ExitsWellBeforeTheDrainTimeout()
    {
        int ingressFabric = GatewayProcess.FreePort(), egressFabric = GatewayProcess.FreePort();
        int backend = GatewayProcess.FreePort(), proxy = GatewayProcess.FreePort();
        _pair.MakeKeys("ingress", "egress");

        // A backend of its own (python), as in production: it stays up while the egress stops, so nothing but the
        // ingress letting its idle connections go ends them.
        await _pair.StartPythonBackendAsync("py", backend);
        HttpGateway egress = _pair.StartGateway("egress", [
            .. _pair.FabricSettings("egress", egressFabric, ("ingress", ingressFabric)),
            ("Plugins:Settings:http:Services:0:Name", "web"),
            ("Plugins:Settings:http:Services:0:Backend", $"http://127.0.0.1:{backend}"),
        ]);
        HttpGateway ingress = _pair.StartGateway("ingress", [
            .. _pair.FabricSettings("ingress", ingressFabric, ("egress", egressFabric)),
            ("Plugins:Settings:http:Listen:0", $"127.0.0.1:{proxy}"),
            ("ReverseProxy:Routes:demo:ClusterId", "web"),
            ("ReverseProxy:Clusters:web:Destinations:fabric:Address", "fabric://web"),
        ]);
        await Task.WhenAll(egress.WaitHttpRunningAsync(HttpTopology.Startup), ingress.WaitHttpRunningAsync(HttpTopology.Startup));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await _pair.WaitUntilAsync(async () => (await http.GetAsync(new Uri($"http://127.0.0.1:{proxy}/"))).IsSuccessStatusCode, "GET / through both gateways", HttpTopology.Startup);

        // Several requests at once: the ingress's pool now holds several fabric connections to the egress, idle.
        for (int round = 0; round < 3; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => http.GetStringAsync(new Uri($"http://127.0.0.1:{proxy}/"))));
        }

        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", egress.Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.True(await egress.WaitForExitAsync(TimeSpan.FromSeconds(45)), $"the egress did not exit within 45 s of SIGTERM:\n{_pair.Diagnostics}");
        TimeSpan took = clock.Elapsed;
        output.WriteLine($"the egress exited {took.TotalSeconds:F1} s after SIGTERM");
        Assert.True(took < TimeSpan.FromSeconds(12), $"SIGTERM to exit of the egress took {took.TotalSeconds:F1} s (drain timeout 30 s):\n{_pair.Diagnostics}");
        Assert.Equal(0, egress.ExitCode);
        Assert.False(ingress.HasExited);
    }

    [Fact]
    public async Task SigtermOneOfTwoEgresses_UnderSteadyTraffic_NoRequestFails_ItExitsSoon()
    {
        int ingressFabric = GatewayProcess.FreePort(), fabric1 = GatewayProcess.FreePort(), fabric2 = GatewayProcess.FreePort();
        int backend1 = GatewayProcess.FreePort(), backend2 = GatewayProcess.FreePort(), proxy = GatewayProcess.FreePort();
        _pair.MakeKeys("ingress", "egress1", "egress2");
        await _pair.StartPythonBackendAsync("py1", backend1); // one after the other: they share the script file
        await _pair.StartPythonBackendAsync("py2", backend2);
        HttpGateway StartEgress(string name, int fabricPort, int backend) => _pair.StartGateway(name, [
            .. _pair.FabricSettings(name, fabricPort, ("ingress", ingressFabric)),
            ("Plugins:Settings:http:Services:0:Name", "web"),
            ("Plugins:Settings:http:Services:0:Backend", $"http://127.0.0.1:{backend}"),
        ]);
        HttpGateway egress1 = StartEgress("egress1", fabric1, backend1);
        HttpGateway egress2 = StartEgress("egress2", fabric2, backend2);
        HttpGateway ingress = _pair.StartGateway("ingress", [
            .. _pair.FabricSettings("ingress", ingressFabric, ("egress1", fabric1), ("egress2", fabric2)),
            ("Plugins:Settings:http:Listen:0", $"127.0.0.1:{proxy}"),
            ("ReverseProxy:Routes:demo:ClusterId", "web"),
            ("ReverseProxy:Clusters:web:Destinations:fabric:Address", "fabric://web"),
        ]);
        await Task.WhenAll(egress1.WaitHttpRunningAsync(HttpTopology.Startup), egress2.WaitHttpRunningAsync(HttpTopology.Startup), ingress.WaitHttpRunningAsync(HttpTopology.Startup));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var seen = new HashSet<string>();
        await _pair.WaitUntilAsync(
            async () =>
            {
                seen.Add(await http.GetStringAsync(new Uri($"http://127.0.0.1:{proxy}/")));
                return seen.Count == 2;
            },
            "answers from both egresses",
            HttpTopology.Startup);

        // Four clients, back to back, for the whole stop of egress1.
        var clock = Stopwatch.StartNew();
        var results = new System.Collections.Concurrent.ConcurrentBag<(TimeSpan At, string? Body, string? Error)>();
        using var stop = new CancellationTokenSource();
        Task[] clients = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{proxy}/"));
                    string body = await response.Content.ReadAsStringAsync();
                    results.Add((clock.Elapsed, response.IsSuccessStatusCode ? body : null, response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {body}"));
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    results.Add((clock.Elapsed, null, ex.Message));
                }
            }
        }))];

        await Task.Delay(1000);
        TimeSpan killedAt = clock.Elapsed;
        using (var kill = Process.Start("kill", ["-TERM", egress1.Pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        bool exited = await egress1.WaitForExitAsync(TimeSpan.FromSeconds(45));
        TimeSpan exitedAt = clock.Elapsed;
        await Task.Delay(1000);
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        output.WriteLine($"egress1 exited {(exitedAt - killedAt).TotalSeconds:F1} s after SIGTERM; {results.Count} requests, {results.Count(r => r.Error is not null)} failed");
        Assert.True(exited, $"egress1 did not exit within 45 s of SIGTERM:\n{_pair.Diagnostics}");
        Assert.Equal(0, egress1.ExitCode);
        var failed = results.Where(r => r.Error is not null).ToList();
        Assert.True(failed.Count == 0, $"{failed.Count} of {results.Count} requests failed during the stop: {string.Join("; ", failed.Take(5).Select(f => $"+{(f.At - killedAt).TotalMilliseconds:F0} ms {f.Error}"))}");
        Assert.True(exitedAt - killedAt < TimeSpan.FromSeconds(12), $"egress1 took {(exitedAt - killedAt).TotalSeconds:F1} s to exit under traffic (drain timeout 30 s)");
        Assert.True(results.Count(r => r.At > exitedAt) >= 10, "too few requests after egress1 was gone");
        Assert.All(results.Where(r => r.At > exitedAt), r => Assert.StartsWith("replica=py2", r.Body, StringComparison.Ordinal));
    }

    /// <summary>Only the cleanup of <see cref="HttpTopology"/>: each test starts its own gateways.</summary>
    private sealed class Pair : HttpTopology
    {
        protected override Task StartAsync() => Task.CompletedTask;
    }
}
