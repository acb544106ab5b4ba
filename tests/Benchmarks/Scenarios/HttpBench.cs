using System.Globalization;
using System.Text.Json.Nodes;
using Benchmarks.Scenarios.Grpc;
using Benchmarks.Scenarios.Http;

namespace Benchmarks.Scenarios;

/// <summary>
/// HTTP requests through the two-node fabric path against what sites build from common parts, one run, the same
/// load for each: <c>wrk -t2 -c64 -d&lt;D&gt;s --latency</c>, 1 KiB responses from an nginx backend.
/// <list type="bullet">
/// <item>direct: the backend itself;</item>
/// <item>fabric: ingress gateway (YARP, destination fabric://bench) → encrypted fabric link → egress gateway → backend, two gateway processes;</item>
/// <item>nginx_tls: nginx → HTTPS with upstream keep-alive → nginx → backend;</item>
/// <item>stunnel: nginx → stunnel (client) → TLS → stunnel (server) → backend;</item>
/// <item>yarp: one plain YARP hop, the gateway with an http:// destination (no fabric).</item>
/// </list>
/// Each path is set up on its own (only the backend stays up between them), its 1 KiB body checked once, warmed up,
/// measured, torn down. Rates count successful responses only; a path with non-2xx responses, socket errors or
/// short responses is listed under <c>invalid</c>. Options: <c>--duration S</c>, <c>--warmup S</c>,
/// <c>--targets direct,fabric,...</c>, <c>--gateway &lt;Fabric.Gateway.dll&gt;</c>, <c>--keep-temp</c>.
/// </summary>
internal static class HttpBench
{
    private const int BodyBytes = 1024;
    private static readonly string[] AllTargets = ["direct", "fabric", "nginx_tls", "stunnel", "yarp"];

    public static async Task<Result> RunAsync(BenchmarkArgs args)
    {
        int seconds = IntOption(args, "--duration") ?? (args.Quick ? 5 : 15);
        int warmup = IntOption(args, "--warmup") ?? (args.Quick ? 2 : 5);
        string[] targets = Option(args, "--targets")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToArray() ?? AllTargets;
        if (targets.FirstOrDefault(t => !AllTargets.Contains(t)) is { } unknown)
        {
            throw new ArgumentException($"unknown target '{unknown}'; targets: {string.Join(',', AllTargets)}");
        }

        await RequireToolsAsync();
        GatewayBinary gateway = GatewayBinary.Locate(Option(args, "--gateway"));
        Console.WriteLine($"gateway: {gateway.Dll}");
        string? newer = gateway.NewerSource();
        if (newer is not null)
        {
            Console.WriteLine($"warning: the gateway build is older than {newer}: rebuild it (dotnet build gateway/Fabric.Gateway -c Release --artifacts-path ...) to measure the current code");
        }

        double loadBefore = Machine.LoadAverage();
        string body = Body();
        var results = new Dictionary<string, Measured>();
        await using (Lab lab = Lab.Create(args.Rest.Contains("--keep-temp")))
        {
            Console.WriteLine($"lab: {lab.Directory}; wrk -t{Wrk.Threads} -c{Wrk.Connections} -d{seconds}s --latency, warm-up {warmup} s per path");
            int backendPort = 0;
            var backend = new List<ChildProcess>();
            for (int attempt = 1; backend.Count == 0; attempt++)
            {
                try
                {
                    backendPort = lab.FreePort();
                    await StartNginxAsync(lab, "backend", PeerConfigs.Backend(lab, "backend", backendPort, body), backendPort, backend);
                }
                catch (Exception ex) when (attempt < 2 && ex is InvalidOperationException or TimeoutException)
                {
                    Console.WriteLine($"backend: start failed, retrying on another port: {ex.Message}");
                    StopAll(backend);
                }
            }

            var setups = new Dictionary<string, Func<List<ChildProcess>, Task<int>>>
            {
                ["direct"] = _ => Task.FromResult(backendPort),
                ["fabric"] = started => StartFabricAsync(lab, gateway, backendPort, started),
                ["nginx_tls"] = started => StartNginxTlsAsync(lab, backendPort, started),
                ["stunnel"] = started => StartStunnelAsync(lab, backendPort, started),
                ["yarp"] = started => StartYarpAsync(lab, gateway, backendPort, started),
            };

            foreach (string target in targets)
            {
                results[target] = await MeasureAsync(target, setups[target], backend[0], body, warmup, seconds);
            }
        }

        double loadAfter = Machine.LoadAverage();
        Console.WriteLine($"load average (1 min) before {loadBefore:0.00}, after {loadAfter:0.00}, on {Environment.ProcessorCount} cores");

        var result = new Result("http");
        foreach (string target in targets)
        {
            Measured m = results[target];
            result.Add(target + "_rps", m.Rps, "0").Add(target + "_p99_ms", m.P99Ms, "0.00").Add(target + "_errors", m.Errors, "0");
        }

        double Ratio(string a, string b) => results.TryGetValue(a, out Measured? x) && results.TryGetValue(b, out Measured? y) && y.Rps > 0 ? x.Rps / y.Rps : 0;
        double P99Ratio(string a, string b) => results.TryGetValue(a, out Measured? x) && results.TryGetValue(b, out Measured? y) && x.Valid && y.P99Ms > 0 ? x.P99Ms / y.P99Ms : 0;
        double vsTls = Ratio("fabric", "nginx_tls"), vsStunnel = Ratio("fabric", "stunnel"), p99VsTls = P99Ratio("fabric", "nginx_tls");
        if (results.ContainsKey("fabric"))
        {
            Console.WriteLine($"goals: ratio_vs_nginx_tls {vsTls:0.00} (>= 1.0: {Met(vsTls >= 1.0)}), ratio_vs_nginx_stunnel {vsStunnel:0.00} (>= 2.0: {Met(vsStunnel >= 2.0)}), "
                + $"p99 vs nginx_tls {p99VsTls:0.00}x (<= 2.0: {Met(p99VsTls is > 0 and <= 2.0)})");
        }

        string[] invalid = [.. targets.Where(t => !results[t].Valid).Select(t => $"{t}:{results[t].Problem}")];
        return result
            .Add("ratio_vs_nginx_tls", vsTls, "0.00")
            .Add("ratio_vs_nginx_stunnel", vsStunnel, "0.00")
            .Add("p99_vs_nginx_tls", p99VsTls, "0.00")
            .Add("ratio_vs_yarp", Ratio("fabric", "yarp"), "0.00")
            .Add("invalid", invalid.Length == 0 ? "none" : string.Join(',', invalid))
            .Add("duration_s", seconds, "0")
            .Add("connections", Wrk.Connections, "0")
            .Add("body_bytes", BodyBytes, "0")
            .Add("gateway_build", newer is null ? "current" : "stale")
            .Add("cores", Environment.ProcessorCount, "0")
            .Add("load1", Math.Max(loadBefore, loadAfter), "0.00");
    }

    private static string Met(bool met) => met ? "met" : "missed";

    /// <summary>Sets one path up (twice at most: a port taken meanwhile by someone else), checks its body, warms it up, measures it, tears it down.</summary>
    private static async Task<Measured> MeasureAsync(string target, Func<List<ChildProcess>, Task<int>> setup, ChildProcess backend, string body, int warmup, int seconds)
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
                    break;
                }
                catch (Exception ex) when (attempt < 2 && ex is InvalidOperationException or TimeoutException)
                {
                    Console.WriteLine($"{target}: setup failed, retrying with new ports: {ex.Message}");
                    StopAll(started);
                }
            }

            await CheckBodyAsync(target, port, body, started);
            await Wrk.RunAsync(port, warmup);
            ChildProcess[] measured = [.. started, backend];
            var cpu = CpuSample.Begin(measured.Select(p => p.Id));
            (WrkResult r, string output) = await Wrk.RunAsync(port, seconds);
            (double[] cores, double machine, _) = cpu.End();
            if (measured.FirstOrDefault(p => p.HasExited) is { } died)
            {
                throw new InvalidOperationException($"{died.Name} exited during the measurement:\n{died.Tail()}");
            }

            string? problem = r.Non2xx > 0 ? "non2xx" : r.SocketErrors > 0 ? "socket_errors" : r.BytesPerResponse < BodyBytes ? "short_responses" : null;
            Console.WriteLine($"{target}: {r.GoodRps:0} rps, p99 {r.P99Ms:0.00} ms, errors {r.Errors} (non-2xx {r.Non2xx}{(r.SocketErrorText.Length > 0 ? "; " + r.SocketErrorText : "")}), "
                + $"{r.BytesPerResponse:0} B/response, {r.Requests} requests in {r.Seconds:0.00} s{(problem is null ? "" : $"  ** {problem}: not counted as a valid result **")}");
            Console.WriteLine($"{target}: cpu in cores (of {Environment.ProcessorCount}): "
                + string.Join(", ", measured.Select((p, i) => $"{p.Name} {cores[i]:0.00}")) + $"; machine {machine:0.00}, wrk and everything else {Math.Max(0, machine - cores.Sum()):0.00}");
            if (problem is not null)
            {
                Console.WriteLine(output);
            }

            return new Measured(r.GoodRps, r.P99Ms, r.Errors, problem);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or HttpRequestException)
        {
            Console.WriteLine($"{target}: FAILED: {ex.Message}");
            return new Measured(0, 0, -1, "failed");
        }
        finally
        {
            StopAll(started);
        }
    }

    /// <summary>One GET through the path must return 200 and exactly the backend's body (retried while a path comes up, e.g. the fabric directory).</summary>
    private static async Task CheckBodyAsync(string target, int port, string body, List<ChildProcess> started)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        string last = "";
        while (true)
        {
            try
            {
                using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/"));
                byte[] received = await response.Content.ReadAsByteArrayAsync();
                if ((int)response.StatusCode == 200 && received.AsSpan().SequenceEqual(System.Text.Encoding.ASCII.GetBytes(body)))
                {
                    return;
                }

                last = $"status {(int)response.StatusCode}, {received.Length} bytes{(received.Length == BodyBytes ? " (not the backend's body)" : "")}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.Message;
            }

            if (started.FirstOrDefault(p => p.HasExited) is { } died)
            {
                throw new InvalidOperationException($"{died.Name} exited:\n{died.Tail()}");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"GET http://127.0.0.1:{port}/ did not return the 1 KiB body within 30 s (last: {last})\n{string.Join('\n', started.Select(p => p.Tail(10)))}");
            }

            await Task.Delay(200);
        }
    }

    private static async Task<int> StartFabricAsync(Lab lab, GatewayBinary gateway, int backendPort, List<ChildProcess> started)
    {
        Task<string> ingressKey = KeyOnceAsync(lab, gateway, "bench-ingress");
        Task<string> egressKey = KeyOnceAsync(lab, gateway, "bench-egress");
        await Task.WhenAll(ingressKey, egressKey);

        int egressFabric = lab.FreePort(), egressAdmin = lab.FreePort(), ingressAdmin = lab.FreePort(), proxy = lab.FreePort();
        JsonObject egress = GatewayBinary.NodeConfig(lab, "bench-egress", egressAdmin, $"127.0.0.1:{egressFabric}", [], [await ingressKey],
            new JsonObject
            {
                ["Listen"] = new JsonArray(),
                ["Services"] = new JsonArray(new JsonObject { ["Name"] = "bench", ["Backend"] = $"http://127.0.0.1:{backendPort}" }),
            },
            []);
        started.Add(await gateway.StartAsync(lab, "bench-egress", egress, egressAdmin, proxyPort: null));

        JsonObject ingress = GatewayBinary.NodeConfig(lab, "bench-ingress", ingressAdmin, "",
            [new JsonObject { ["Address"] = $"127.0.0.1:{egressFabric}", ["PublicKey"] = await egressKey }], [await egressKey],
            new JsonObject { ["Listen"] = new JsonArray($"127.0.0.1:{proxy}"), ["Services"] = new JsonArray() },
            GatewayBinary.ProxyTo("fabric://bench"));
        started.Add(await gateway.StartAsync(lab, "bench-ingress", ingress, ingressAdmin, proxy));
        return proxy;
    }

    private static async Task<int> StartYarpAsync(Lab lab, GatewayBinary gateway, int backendPort, List<ChildProcess> started)
    {
        int admin = lab.FreePort(), proxy = lab.FreePort();
        JsonObject config = GatewayBinary.NodeConfig(lab, "bench-yarp", admin, "", [], [],
            new JsonObject { ["Listen"] = new JsonArray($"127.0.0.1:{proxy}"), ["Services"] = new JsonArray() },
            GatewayBinary.ProxyTo($"http://127.0.0.1:{backendPort}"));
        started.Add(await gateway.StartAsync(lab, "bench-yarp", config, admin, proxy));
        return proxy;
    }

    private static async Task<int> StartNginxTlsAsync(Lab lab, int backendPort, List<ChildProcess> started)
    {
        (string certificate, string key) = await CertificateAsync(lab);
        int middle = lab.FreePort(), front = lab.FreePort();
        await StartNginxAsync(lab, "tls-middle", PeerConfigs.TlsMiddle(lab, "tls-middle", middle, backendPort, certificate, key), middle, started);
        await StartNginxAsync(lab, "tls-front", PeerConfigs.Front(lab, "tls-front", front, "https", middle), front, started);
        return front;
    }

    private static async Task<int> StartStunnelAsync(Lab lab, int backendPort, List<ChildProcess> started)
    {
        (string certificate, string key) = await CertificateAsync(lab);
        int server = lab.FreePort(), client = lab.FreePort(), front = lab.FreePort();
        await StartStunnelAsync(lab, "stunnel-server", PeerConfigs.StunnelConf(lab, "stunnel-server", client: false, server, backendPort, certificate, key), server, started);
        await StartStunnelAsync(lab, "stunnel-client", PeerConfigs.StunnelConf(lab, "stunnel-client", client: true, client, server, certificate, key), client, started);
        await StartNginxAsync(lab, "stunnel-front", PeerConfigs.Front(lab, "stunnel-front", front, "http", client), front, started);
        return front;
    }

    internal static async Task StartNginxAsync(Lab lab, string name, string conf, int port, List<ChildProcess> started)
    {
        ChildProcess nginx = lab.Start(name, PeerConfigs.Nginx, ["-p", lab.Directory + "/", "-c", conf], errorLog: lab.PathOf(name + ".error.log"));
        started.Add(nginx);
        await Lab.WaitListeningAsync(nginx, port, TimeSpan.FromSeconds(15));
    }

    private static async Task StartStunnelAsync(Lab lab, string name, string conf, int port, List<ChildProcess> started)
    {
        ChildProcess stunnel = lab.Start(name, PeerConfigs.Stunnel, [conf]);
        started.Add(stunnel);
        await Lab.WaitListeningAsync(stunnel, port, TimeSpan.FromSeconds(15));
    }

    internal static void StopAll(List<ChildProcess> started)
    {
        foreach (ChildProcess process in started)
        {
            Lab.Stop(process);
        }

        started.Clear();
    }

    /// <summary>A self-signed certificate for the TLS hops (made once per run).</summary>
    internal static async Task<(string Certificate, string Key)> CertificateAsync(Lab lab)
    {
        string certificate = lab.PathOf("tls-cert.pem"), key = lab.PathOf("tls-key.pem");
        if (!File.Exists(certificate))
        {
            (int exitCode, string output) = await Lab.RunAsync("openssl",
                ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate,
                 "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                TimeSpan.FromSeconds(30));
            if (exitCode != 0 || !File.Exists(certificate))
            {
                throw new InvalidOperationException($"openssl req exited with {exitCode}:\n{output}");
            }
        }

        return (certificate, key);
    }

    internal static async Task<string> KeyOnceAsync(Lab lab, GatewayBinary gateway, string name)
    {
        string publicKey = lab.PathOf(name + ".pub");
        if (File.Exists(publicKey))
        {
            return await File.ReadAllTextAsync(publicKey);
        }

        string key = await gateway.KeygenAsync(lab, name);
        await File.WriteAllTextAsync(publicKey, key);
        return key;
    }

    /// <summary>The fixed 1 KiB body: letters and digits (nothing nginx's <c>return</c> would interpret).</summary>
    private static string Body()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        return string.Create(BodyBytes, alphabet, (span, a) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = a[(i * 7) % a.Length];
            }
        });
    }

    private static async Task RequireToolsAsync()
    {
        var missing = new List<string>();
        foreach (string tool in new[] { "wrk", PeerConfigs.Nginx, PeerConfigs.Stunnel, "openssl" })
        {
            (int exitCode, _) = await Lab.RunAsync("/bin/sh", ["-c", "command -v \"$0\"", tool], TimeSpan.FromSeconds(10));
            if (exitCode != 0)
            {
                missing.Add(tool);
            }
        }

        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"missing {string.Join(", ", missing)}: run scripts/install-peers.sh");
        }
    }

    internal static string? Option(BenchmarkArgs args, string name)
    {
        int i = args.Rest.ToList().IndexOf(name);
        return i >= 0 && i + 1 < args.Rest.Count ? args.Rest[i + 1] : null;
    }

    internal static int? IntOption(BenchmarkArgs args, string name) =>
        Option(args, name) is { } text ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0 ? value : throw new ArgumentException($"{name} takes a positive number of seconds") : null;

    /// <summary>One path's outcome: successful responses per second, p99, errors (-1: could not be run), why it is not valid.</summary>
    private sealed record Measured(double Rps, double P99Ms, long Errors, string? Problem)
    {
        public bool Valid => Problem is null;
    }
}
