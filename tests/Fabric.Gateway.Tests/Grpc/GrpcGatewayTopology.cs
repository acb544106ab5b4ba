using System.Diagnostics;
using System.Text.Json;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// The gRPC topology, started once for the test class: ingress gateway A (the gRPC driver listening h2c, and HTTP/1.1
/// for gRPC-Web) routes grpc.testing.TestService to fabric service "interop", which egress gateway B hosts as two
/// replicas r1 and r2, two interop_server.py processes. A second ingress A2, configured like A, exists to be stopped
/// (the shutdown-drain test). Keys from the binary's keygen, everything on the command line, all on 127.0.0.1.
/// </summary>
public sealed class GrpcGatewayTopology : IAsyncLifetime
{
    public const string FabricService = "interop";
    public const string TestService = "grpc.testing.TestService";
    public const double HealthCheckSeconds = 1;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _temp = new();
    private readonly List<GrpcGatewayNode> _nodes = [];
    private readonly Dictionary<string, InteropServer> _replicas = new(StringComparer.Ordinal);

    internal string GenDirectory => _temp.File("gen");

    internal InteropServer R1 => _replicas["r1"];

    internal InteropServer R2 => _replicas["r2"];

    internal IEnumerable<InteropServer> Replicas => _replicas.Values;

    internal GrpcGatewayNode A => _nodes.Single(n => n.Name == "a");

    internal GrpcGatewayNode B => _nodes.Single(n => n.Name == "b");

    internal GrpcGatewayNode A2 => _nodes.Single(n => n.Name == "a2");

    /// <summary>A's h2c listener, host:port (gRPC clients).</summary>
    internal string Ingress { get; private set; } = "";

    /// <summary>A's HTTP/1.1 listener, http://host:port (gRPC-Web).</summary>
    internal string IngressWeb { get; private set; } = "";

    /// <summary>A's https listener (TLS, ALPN h2), host:port; its certificate is <see cref="IngressCa"/>.</summary>
    internal string IngressTls { get; private set; } = "";

    /// <summary>PEM file of the self-signed certificate of <see cref="IngressTls"/> (for 127.0.0.1).</summary>
    internal string IngressCa => _temp.File("ingress.pem");

    /// <summary>A2's h2c listener, host:port.</summary>
    internal string DrainIngress { get; private set; } = "";

    /// <summary>How long the topology took to come up.</summary>
    internal TimeSpan StartupTime { get; private set; }

    /// <summary>All process output, for failure messages.</summary>
    internal string Output => string.Concat(_nodes.Select(n => n.Output)) + string.Concat(_replicas.Values.Select(r => r.Output));

    /// <summary>The gateways' warnings and errors so far (each with its message line), for failure messages.</summary>
    internal string GatewayProblems(int max = 60)
    {
        var picked = new List<string>();
        foreach (GrpcGatewayNode node in _nodes)
        {
            string[] lines = node.Output.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Contains(": warn: ", StringComparison.Ordinal) || lines[i].Contains(": fail: ", StringComparison.Ordinal) || lines[i].Contains(": crit: ", StringComparison.Ordinal))
                {
                    picked.Add(lines[i].TrimEnd() + (i + 1 < lines.Length ? " " + lines[i + 1].Trim() : ""));
                }
            }
        }

        return picked.Count == 0 ? "(no gateway warnings)" : string.Join('\n', picked.TakeLast(max));
    }

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await StartAsync();
            StartupTime = clock.Elapsed;
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync()
    {
        foreach (GrpcGatewayNode node in _nodes)
        {
            node.Dispose();
        }

        _nodes.Clear();
        foreach (InteropServer replica in _replicas.Values)
        {
            replica.Dispose();
        }

        _replicas.Clear();
        try
        {
            _temp.Dispose();
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    /// <summary>Runs the interop client against A's https listener, trusting its certificate.</summary>
    internal Task<ClientResult> RunClientTlsAsync(TimeSpan timeout, params string[] args) =>
        InteropPeers.RunClientAsync(GenDirectory, IngressTls, timeout, ["--ca", IngressCa, .. args]);

    /// <summary>Runs the interop client against A.</summary>
    internal Task<ClientResult> RunClientAsync(TimeSpan timeout, params string[] args) =>
        InteropPeers.RunClientAsync(GenDirectory, Ingress, timeout, args);

    internal Task<JsonElement> RunJsonAsync(TimeSpan timeout, params string[] args) =>
        InteropPeers.RunJsonAsync(GenDirectory, Ingress, timeout, args);

    /// <summary>A small split through A: calls per replica id.</summary>
    internal async Task<Dictionary<string, int>> SampleAsync(int calls, string? target = null)
    {
        JsonElement split = await InteropPeers.RunJsonAsync(GenDirectory, target ?? Ingress, TimeSpan.FromSeconds(60), "--timeout", "10", "--concurrency", "4", "split", calls.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return split.GetProperty("served_by").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Puts both replicas back as they started (restarts a killed one on its port, sets both SERVING) and waits until
    /// calls through A reach both of them again.
    /// </summary>
    internal async Task EnsureBothReplicasServingAsync(TimeSpan? timeout = null)
    {
        foreach (InteropServer replica in _replicas.Values)
        {
            if (!replica.IsRunning)
            {
                await replica.RestartAsync();
            }

            await replica.SetHealthAsync("SERVING");
        }

        await WaitForAsync(
            async () => await SampleAsync(40),
            s => s.GetValueOrDefault("r1") > 0 && s.GetValueOrDefault("r2") > 0,
            "calls through A reaching both replicas",
            timeout ?? TimeSpan.FromSeconds(40));
    }

    /// <summary>Probes until <paramref name="done"/>; fails with every process's output on timeout.</summary>
    internal async Task<T> WaitForAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        T value;
        while (true)
        {
            value = await probe();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > timeout)
            {
                string shown = value is System.Collections.IDictionary d
                    ? string.Join(", ", d.Keys.Cast<object>().Select(k => $"{k}={d[k]}"))
                    : value?.ToString() ?? "null";
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for: {what} (last: {shown})\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    private async Task StartAsync()
    {
        InteropPeers.RequireInstalled();
        string plugins = _temp.File("plugins");
        GrpcGatewayNode.CopyGrpcPlugin(plugins);

        // Keys (the binary's keygen), proto modules and the two replicas, all at once.
        string[] names = ["a", "b", "a2"];
        string KeyFile(string name) => _temp.File($"{name}.key");
        Task<string[]> keygen = Task.WhenAll(names.Select(n => GatewayProcess.KeygenAsync(KeyFile(n), _temp.Path)));
        await InteropPeers.GenerateAsync(GenDirectory);
        Task<InteropServer> r1 = InteropServer.StartAsync("r1", GenDirectory, _temp.Path);
        // r2 serves over TLS (a self-signed certificate the egress is told to accept): half the calls of every test
        // cross the egress's TLS path to the backend, the other half its h2c path.
        TestCertificates.WriteSelfSignedLoopback(_temp.File("r2.pem"), _temp.File("r2.key"));
        Task<InteropServer> r2 = InteropServer.StartAsync("r2", GenDirectory, _temp.Path, (_temp.File("r2.pem"), _temp.File("r2.key")));
        try
        {
            await Task.WhenAll(r1, r2);
        }
        finally
        {
            foreach (Task<InteropServer> started in new[] { r1, r2 }.Where(t => t.IsCompletedSuccessfully))
            {
                _replicas[started.Result.Replica] = started.Result;
            }
        }

        string[] keyList = await keygen;
        var key = names.Select((n, i) => (n, keyList[i])).ToDictionary(p => p.n, p => p.Item2);
        var fabricPort = names.ToDictionary(n => n, _ => GatewayProcess.FreePort());
        int grpcA = GatewayProcess.FreePort();
        int webA = GatewayProcess.FreePort();
        int grpcA2 = GatewayProcess.FreePort();
        int tlsA = GatewayProcess.FreePort();
        Ingress = $"127.0.0.1:{grpcA}";
        IngressTls = $"127.0.0.1:{tlsA}";
        TestCertificates.WriteSelfSignedLoopback(IngressCa, _temp.File("ingress.key"));
        IngressWeb = $"http://127.0.0.1:{webA}";
        DrainIngress = $"127.0.0.1:{grpcA2}";

        IEnumerable<KeyValuePair<string, string>> Settings(string name, string dials, int grpcPort, int webPort, params (string Key, string Value)[] more)
        {
            yield return new("Fabric:Identity:KeyFile", KeyFile(name));
            int i = 0;
            foreach (string pinned in key.Values)
            {
                yield return new($"Fabric:Trust:PinnedKeys:{i++}", pinned);
            }

            // Peers:0 overrides the shipped self-peer; links come up as the dials retry.
            yield return new("Fabric:Peers:0:Address", $"127.0.0.1:{fabricPort[dials]}");
            yield return new("Fabric:Peers:0:PublicKey", key[dials]);

            // Both listener slots set on every node, so no listener from a shipped default can collide between nodes.
            yield return new("Plugins:Settings:grpc:Listen:0", $"h2c://127.0.0.1:{grpcPort}");
            yield return new("Plugins:Settings:grpc:Listen:1", $"http://127.0.0.1:{webPort}");

            // Kestrel's HTTP/2 connection errors, resets and GOAWAYs with their reasons, for a failure's message (a CI
            // run once saw a client get "GOAWAY received" that no later run reproduced).
            yield return new("Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel.Http2", "Debug");
            foreach ((string k, string v) in more)
            {
                yield return new(k, v);
            }
        }

        (string, string)[] ingressRoute =
        [
            ("Plugins:Settings:grpc:Routes:0:Match", TestService),
            ("Plugins:Settings:grpc:Routes:0:Service", FabricService),
        ];
        (string, string)[] ingressTls =
        [
            .. ingressRoute,
            ("Plugins:Settings:grpc:Listen:2", $"https://{IngressTls}"),
            ("Plugins:Settings:grpc:CertificatePath", IngressCa),
            ("Plugins:Settings:grpc:CertificateKeyPath", _temp.File("ingress.key")),
        ];
        string seconds = HealthCheckSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _nodes.Add(GrpcGatewayNode.Start("b", fabricPort["b"], _temp.Path, plugins, Settings(
            "b",
            "a",
            GatewayProcess.FreePort(),
            GatewayProcess.FreePort(),
            ("Plugins:Settings:grpc:HealthCheckSeconds", seconds),
            ("Plugins:Settings:grpc:Services:0:Name", FabricService),
            ("Plugins:Settings:grpc:Services:0:Instance", "r1"),
            ("Plugins:Settings:grpc:Services:0:Backend", R1.BackendUrl),
            ("Plugins:Settings:grpc:Services:1:Name", FabricService),
            ("Plugins:Settings:grpc:Services:1:Instance", "r2"),
            ("Plugins:Settings:grpc:Services:1:Backend", R2.BackendUrl),
            ("Plugins:Settings:grpc:Services:1:AcceptAnyCertificate", "true"))));
        _nodes.Add(GrpcGatewayNode.Start("a", fabricPort["a"], _temp.Path, plugins, Settings("a", "b", grpcA, webA, ingressTls)));
        _nodes.Add(GrpcGatewayNode.Start("a2", fabricPort["a2"], _temp.Path, plugins, Settings("a2", "b", grpcA2, GatewayProcess.FreePort(), ingressRoute)));
        await Task.WhenAll(_nodes.Select(n => n.WaitReadyAsync(StartTimeout)));

        // Ready when calls through A reach both replicas and A2 sees a healthy replica.
        await EnsureBothReplicasServingAsync(StartTimeout);
        await WaitForAsync(
            () => InteropPeers.RunJsonAsync(GenDirectory, DrainIngress, TimeSpan.FromSeconds(30), "--timeout", "5", "health", TestService),
            r => r.TryGetProperty("status", out JsonElement s) && s.GetString() == "SERVING",
            "A2's health check of grpc.testing.TestService saying SERVING",
            StartTimeout);
    }
}
