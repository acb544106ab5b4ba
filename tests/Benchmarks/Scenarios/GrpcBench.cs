using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Benchmarks.Scenarios.Grpc;
using Benchmarks.Scenarios.Http;

namespace Benchmarks.Scenarios;

/// <summary>
/// Unary gRPC calls through the two-node fabric path against nginx's gRPC proxy chain, one run, the same load for
/// each: <c>h2load -t1 -c&lt;C&gt; -m&lt;M&gt; -D&lt;S&gt;</c> posting one 35-byte framed request to <c>/bench.Echo/Say</c>,
/// a 71-byte framed reply with <c>grpc-status: 0</c> from a Kestrel h2c backend (<see cref="GrpcBackend"/>, its own
/// process).
/// <list type="bullet">
/// <item>direct: the backend itself;</item>
/// <item>fabric: ingress gateway (gRPC driver, h2c listener) → encrypted fabric link → egress gateway (gRPC driver hosting the service) → backend, two gateway processes;</item>
/// <item>nginx_tls: nginx (h2c, <c>grpc_pass grpcs://</c>, upstream keep-alive) → TLS → nginx (<c>grpc_pass grpc://</c>) → backend.</item>
/// </list>
/// Each path is set up on its own (only the backend stays up between them), checked with real gRPC calls
/// (<see cref="GrpcCheck"/>: grpc-status 0 and the exact reply) before and after its load, warmed up, measured,
/// torn down. Rates count HTTP 200 responses; p99 comes from h2load's per-request log. A path whose checks fail or
/// whose h2load run had failed, errored or non-200 requests is listed under <c>invalid</c>. The CPU each process
/// used during the measurement (backend, gateways or nginx, h2load, the rest of the machine) is printed per path,
/// with the spread of the calls completed in each second. Warm-up is 10 s by default (5 s with <c>--quick</c>): the
/// gateways' tiered JIT with dynamic PGO needs several seconds of load on 2 busy cores to reach steady state, which
/// shorter warm-ups measure instead (nginx needs none).
/// Options: <c>--duration S</c>, <c>--warmup S</c>, <c>--targets direct,fabric,nginx_tls</c>, <c>--connections N</c>,
/// <c>--streams N</c>, <c>--gateway &lt;Fabric.Gateway.dll&gt;</c>, <c>--keep-temp</c>.
/// </summary>
internal static class GrpcBench
{
    /// <summary>
    /// Default load: 8 connections × 16 concurrent streams = 128 calls in flight, from one h2load thread. On 2 cores the
    /// load generator must stay small (one thread, ~0.3 core), and 128 calls in flight are several times what keeps each
    /// path busy (rate × latency) without turning latency into pure queueing; several connections, as gRPC clients
    /// spread over channels, let every hop use more than one connection (Kestrel serves one connection's frames in
    /// order; nginx gets one worker per process anyway).
    /// </summary>
    private const int DefaultConnections = 8;
    private const int DefaultStreams = 16;
    private const int CheckCalls = 300;
    private const int CheckParallel = 16;
    private static readonly string[] AllTargets = ["direct", "fabric", "nginx_tls"];

    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        int seconds = HttpBench.IntOption(args, "--duration") ?? (args.Quick ? 5 : 15);
        int warmup = HttpBench.IntOption(args, "--warmup") ?? (args.Quick ? 5 : 10);
        int connections = Count(args, "--connections") ?? DefaultConnections;
        int streams = Count(args, "--streams") ?? DefaultStreams;
        string[] targets = HttpBench.Option(args, "--targets")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToArray() ?? AllTargets;
        if (targets.FirstOrDefault(t => !AllTargets.Contains(t)) is { } unknown)
        {
            throw new ArgumentException($"unknown target '{unknown}'; targets: {string.Join(',', AllTargets)}");
        }

        await RequireToolsAsync();
        GatewayBinary gateway = GatewayBinary.Locate(HttpBench.Option(args, "--gateway"));
        if (!gateway.HasPlugin("grpc"))
        {
            throw new InvalidOperationException($"the gateway build {gateway.Dll} has no plugins/grpc/ (build gateway/Fabric.Gateway again)");
        }

        Console.WriteLine($"gateway: {gateway.Dll}");
        string? newer = gateway.NewerSource();
        if (newer is not null)
        {
            Console.WriteLine($"warning: the gateway build is older than {newer}: rebuild it (dotnet build gateway/Fabric.Gateway -c Release --artifacts-path ...) to measure the current code");
        }

        double loadBefore = Machine.LoadAverage();
        var results = new Dictionary<string, Measured>();
        bool keep = args.Rest.Contains("--keep-temp");
        await using (Lab lab = Lab.Create(keep, "fabric-grpc-bench-"))
        await using (Lab client = Lab.Create(keep, "fabric-grpc-bench-client-"))
        {
            // The load generator's files live apart: the gateways watch their configuration file's directory tree
            // (reloadOnChange), and h2load's per-request log, written under load, would wake that watcher all the time.
            var load = new Load(client.PathOf("request.bin"), connections, streams, warmup, seconds);
            await File.WriteAllBytesAsync(load.BodyFile, EchoMessages.RequestFrame);
            Console.WriteLine($"lab: {lab.Directory}; h2load -t1 -c{connections} -m{streams} -D{seconds} ({connections * streams} calls in flight), warm-up {warmup} s per path; "
                + $"{CheckCalls} checked gRPC calls before and after each");

            int backendPort = 0;
            var backend = new List<ChildProcess>();
            for (int attempt = 1; backend.Count == 0; attempt++)
            {
                try
                {
                    backendPort = lab.FreePort();
                    await StartBackendAsync(lab, backendPort, backend);
                    await GrpcCheck.WaitReadyAsync(backendPort, TimeSpan.FromSeconds(30), backend);
                }
                catch (Exception ex) when (attempt < 2 && ex is InvalidOperationException or TimeoutException)
                {
                    Console.WriteLine($"backend: start failed, retrying on another port: {ex.Message}");
                    HttpBench.StopAll(backend);
                }
            }

            var setups = new Dictionary<string, Func<List<ChildProcess>, Task<int>>>
            {
                ["direct"] = _ => Task.FromResult(backendPort),
                ["fabric"] = started => StartFabricAsync(lab, gateway, backendPort, started),
                ["nginx_tls"] = started => StartNginxTlsAsync(lab, backendPort, Math.Max(64, connections * streams), started),
            };

            foreach (string target in targets)
            {
                results[target] = await MeasureAsync(target, setups[target], backend[0], load);
            }
        }

        double loadAfter = Machine.LoadAverage();
        Console.WriteLine($"load average (1 min) before {loadBefore:0.00}, after {loadAfter:0.00}, on {Environment.ProcessorCount} cores");

        var result = new Result("grpc");
        foreach (string target in targets)
        {
            Measured m = results[target];
            result.Add(target + "_calls_per_s", m.CallsPerSecond, "0").Add(target + "_p99_ms", m.P99Ms, "0.00").Add(target + "_errors", m.Errors, "0")
                .Add(target + "_backend_cpu", m.BackendCores, "0.00");
        }

        double Ratio(string a, string b) => results.TryGetValue(a, out Measured? x) && results.TryGetValue(b, out Measured? y) && y.CallsPerSecond > 0 ? x.CallsPerSecond / y.CallsPerSecond : 0;
        double P99Ratio(string a, string b) => results.TryGetValue(a, out Measured? x) && results.TryGetValue(b, out Measured? y) && x.Valid && y.P99Ms > 0 ? x.P99Ms / y.P99Ms : 0;
        double vsTls = Ratio("fabric", "nginx_tls"), vsDirect = Ratio("fabric", "direct"), p99VsTls = P99Ratio("fabric", "nginx_tls");
        if (results.ContainsKey("fabric"))
        {
            Console.WriteLine($"goals: ratio_vs_nginx_tls {vsTls:0.00} (>= 1.0: {(vsTls >= 1.0 ? "met" : "missed")}), ratio_vs_direct {vsDirect:0.00}, p99 vs nginx_tls {p99VsTls:0.00}x");
        }

        string[] invalid = [.. targets.Where(t => !results[t].Valid).Select(t => $"{t}:{results[t].Problem}")];
        return result
            .Add("ratio_vs_nginx_tls", vsTls, "0.00")
            .Add("ratio_vs_direct", vsDirect, "0.00")
            .Add("p99_vs_nginx_tls", p99VsTls, "0.00")
            .Add("invalid", invalid.Length == 0 ? "none" : string.Join(',', invalid))
            .Add("duration_s", seconds, "0")
            .Add("connections", connections, "0")
            .Add("streams", streams, "0")
            .Add("gateway_build", newer is null ? "current" : "stale")
            .Add("cores", Environment.ProcessorCount, "0")
            .Add("load1", Math.Max(loadBefore, loadAfter), "0.00");
    }

    /// <summary>Sets one path up (twice at most: a port taken meanwhile by someone else), checks it, warms it up, measures it, checks it again, tears it down.</summary>
    private static async Task<Measured> MeasureAsync(string target, Func<List<ChildProcess>, Task<int>> setup, ChildProcess backend, Load load)
    {
        var started = new List<ChildProcess>();
        try
        {
            int port = 0;
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    port = await setup(started);
                    await GrpcCheck.WaitReadyAsync(port, TimeSpan.FromSeconds(30), started);
                    break;
                }
                catch (Exception ex) when (attempt < 2 && ex is InvalidOperationException or TimeoutException)
                {
                    Console.WriteLine($"{target}: setup failed, retrying with new ports: {ex.Message}");
                    HttpBench.StopAll(started);
                }
            }

            GrpcCheckResult before = await GrpcCheck.RunAsync(port, CheckCalls, CheckParallel);
            await H2Load.RunAsync(port, load.BodyFile, load.Connections, load.Streams, load.WarmupSeconds, logFile: null);

            ChildProcess[] measured = [.. started, backend];
            var cpu = CpuSample.Begin(measured.Select(p => p.Id));
            string logFile = Path.Combine(Path.GetDirectoryName(load.BodyFile)!, $"h2load-{target}.log");
            (H2LoadResult r, string output) = await H2Load.RunAsync(port, load.BodyFile, load.Connections, load.Streams, load.Seconds, logFile);
            (double[] cores, double machine, double wall) = cpu.End();

            if (measured.FirstOrDefault(p => p.HasExited) is { } died)
            {
                throw new InvalidOperationException($"{died.Name} exited during the measurement:\n{died.Tail()}");
            }

            GrpcCheckResult after = await GrpcCheck.RunAsync(port, CheckCalls, CheckParallel);

            string? problem = before.Failed > 0 ? "check_before_" + before.Token
                : after.Failed > 0 ? "check_after_" + after.Token
                : r.Failed > 0 ? "h2load_failed"
                : r.NonOk > 0 || r.Status2xx < r.Done ? "non2xx"
                : r.Status2xx == 0 ? "no_calls"
                : null;
            long errors = r.Failed + r.NonOk + before.Failed + after.Failed;
            long[] perSecond = [.. r.PerSecond.Order()];
            Console.WriteLine($"{target}: {r.CallsPerSecond:0} calls/s (per second: min {perSecond.FirstOrDefault()}, median {(perSecond.Length > 0 ? perSecond[perSecond.Length / 2] : 0)}, max {perSecond.LastOrDefault()}), p50 {r.P50Ms:0.00} ms, p99 {r.P99Ms:0.00} ms, p99.9 {r.P999Ms:0.00} ms, mean {r.MeanMs:0.00} ms, max {r.MaxMs:0.00} ms; "
                + $"{r.Status2xx} calls in {r.Seconds:0.00} s ({r.Logged} logged); h2load failed {r.Failed} (errored {r.Errored}, timeout {r.Timeout}), non-2xx {r.NonOk}; "
                + $"checks: before {before.Calls - before.Failed}/{before.Calls} ok, after {after.Calls - after.Failed}/{after.Calls} ok"
                + (problem is null ? "" : $"  ** {problem}: not counted as a valid result **"));
            foreach (GrpcCheckResult check in new[] { before, after }.Where(c => c.Failed > 0))
            {
                Console.WriteLine($"{target}: check failure ({check.Failed} of {check.Calls}): {check.Detail}");
            }

            double h2loadCores = r.CpuSeconds / wall;
            double ours = cores.Sum() + h2loadCores;
            Console.WriteLine($"{target}: cpu in cores (of {Environment.ProcessorCount}) during the measurement: "
                + string.Join(", ", measured.Select((p, i) => $"{p.Name} {cores[i]:0.00}")) + $", h2load {h2loadCores:0.00}; machine {machine:0.00}, everything else {Math.Max(0, machine - ours):0.00}");
            if (problem is not null && r.Failed + r.NonOk > 0)
            {
                Console.WriteLine(output);
            }

            return new Measured(r.CallsPerSecond, r.P99Ms, errors, cores[^1], problem);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or HttpRequestException)
        {
            Console.WriteLine($"{target}: FAILED: {ex.Message}");
            return new Measured(0, 0, -1, 0, "failed");
        }
        finally
        {
            HttpBench.StopAll(started);
        }
    }

    /// <summary>The backend: this program's hidden <c>grpc-backend</c> sub-command, run by <c>dotnet</c> like the gateways.</summary>
    private static async Task StartBackendAsync(Lab lab, int port, List<ChildProcess> started)
    {
        string dll = typeof(GrpcBackend).Assembly.Location;
        ChildProcess process = lab.Start("grpc-backend", "dotnet", [dll, GrpcBackend.Command, "--port", port.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = null, ["DOTNET_URLS"] = null, ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = "Production" });
        started.Add(process);
        await Lab.WaitListeningAsync(process, port, TimeSpan.FromSeconds(30));
    }

    private static async Task<int> StartFabricAsync(Lab lab, GatewayBinary gateway, int backendPort, List<ChildProcess> started)
    {
        Task<string> ingressKey = HttpBench.KeyOnceAsync(lab, gateway, "grpc-ingress");
        Task<string> egressKey = HttpBench.KeyOnceAsync(lab, gateway, "grpc-egress");
        await Task.WhenAll(ingressKey, egressKey);

        int egressFabric = lab.FreePort(), egressAdmin = lab.FreePort(), ingressAdmin = lab.FreePort(), listen = lab.FreePort();
        JsonObject egress = GatewayBinary.NodeConfig(lab, "grpc-egress", egressAdmin, $"127.0.0.1:{egressFabric}", [], [await ingressKey], NoHttp(), new JsonObject(),
            new JsonObject
            {
                ["Services"] = new JsonArray(new JsonObject { ["Name"] = "bench", ["Backend"] = $"http://127.0.0.1:{backendPort}" }),
            });
        started.Add(await gateway.StartAsync(lab, "grpc-egress", egress, egressAdmin, proxyPort: null));

        JsonObject ingress = GatewayBinary.NodeConfig(lab, "grpc-ingress", ingressAdmin, "",
            [new JsonObject { ["Address"] = $"127.0.0.1:{egressFabric}", ["PublicKey"] = await egressKey }], [await egressKey], NoHttp(), new JsonObject(),
            new JsonObject
            {
                ["Listen"] = new JsonArray($"h2c://127.0.0.1:{listen}"),
                ["Routes"] = new JsonArray(new JsonObject { ["Match"] = "bench.Echo", ["Service"] = "bench" }),
            });
        started.Add(await gateway.StartAsync(lab, "grpc-ingress", ingress, ingressAdmin, listen));
        return listen;
    }

    /// <summary>The HTTP driver stays loaded (as shipped) but listens nowhere and hosts nothing.</summary>
    private static JsonObject NoHttp() => new() { ["Listen"] = new JsonArray(), ["Services"] = new JsonArray() };

    private static async Task<int> StartNginxTlsAsync(Lab lab, int backendPort, int keepalive, List<ChildProcess> started)
    {
        (string certificate, string key) = await HttpBench.CertificateAsync(lab);
        int middle = lab.FreePort(), front = lab.FreePort();
        await HttpBench.StartNginxAsync(lab, "grpc-tls-middle", PeerConfigs.GrpcTlsMiddle(lab, "grpc-tls-middle", middle, backendPort, certificate, key, keepalive), middle, started);
        await HttpBench.StartNginxAsync(lab, "grpc-tls-front", PeerConfigs.GrpcFront(lab, "grpc-tls-front", front, middle, keepalive), front, started);
        return front;
    }

    private static async Task RequireToolsAsync()
    {
        var missing = new List<string>();
        foreach (string tool in new[] { "h2load", PeerConfigs.Nginx, "openssl" })
        {
            (int exitCode, _) = await Lab.RunAsync("/bin/sh", ["-c", "command -v \"$0\"", tool], TimeSpan.FromSeconds(10));
            if (exitCode != 0)
            {
                missing.Add(tool);
            }
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"missing {string.Join(", ", missing)}: run scripts/install-peers.sh (h2load is in nghttp2-client)");
        }
    }

    private static int? Count(BenchmarkArgs args, string name) =>
        HttpBench.Option(args, name) is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value is > 0 and <= 10_000 ? value : throw new ArgumentException($"{name} takes a number from 1 to 10000")
            : null;

    /// <summary>The load every path gets: the request file and h2load's shape.</summary>
    private sealed record Load(string BodyFile, int Connections, int Streams, int WarmupSeconds, int Seconds);

    /// <summary>One path's outcome: HTTP 200 calls per second, p99, errors (-1: could not be run), the backend's CPU (cores), why it is not valid.</summary>
    private sealed record Measured(double CallsPerSecond, double P99Ms, long Errors, double BackendCores, string? Problem)
    {
        public bool Valid => Problem is null;
    }
}
