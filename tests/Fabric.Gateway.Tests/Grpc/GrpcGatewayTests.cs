using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// The gRPC driver end to end with real peers: Debian's grpcio client → ingress gateway A (h2c) → fabric → egress
/// gateway B → two grpcio interop servers (replicas r1, r2 of fabric service "interop"). Tests that break something
/// (a killed replica, a NOT_SERVING flip) put it back before they end.
/// </summary>
public sealed class GrpcGatewayTests(GrpcGatewayTopology topology, ITestOutputHelper log) : IClassFixture<GrpcGatewayTopology>
{
    private const int MaxMessageBytes = 4 * 1024 * 1024;
    private const string UnaryMethod = "/grpc.testing.TestService/UnaryCall";
    private const string StreamingMethod = "/grpc.testing.TestService/StreamingOutputCall";
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    public static TheoryData<string> Cases => InteropPeers.CaseData();

    public static TheoryData<string, string> GrpcWebCalls => new()
    {
        { "application/grpc-web", "unary" },
        { "application/grpc-web", "server-streaming" },
        { "application/grpc-web-text", "unary" },
        { "application/grpc-web-text", "server-streaming" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task InteropCase_ThroughIngressAndEgressGateways_Passes(string testCase)
    {
        ClientResult result = await topology.RunClientAsync(ClientTimeout, testCase);

        log.WriteLine(string.Join('\n', result.Stdout));
        Assert.True(result.ExitCode == 0, $"{testCase} failed through the gateways:\n{result.Output}\n{topology.Output}");
        Assert.Contains($"PASS {testCase}", result.Stdout);
    }

    [Fact]
    public async Task HttpsListener_GrpcioOverTls_UnaryAndStreamingCallsPass()
    {
        string[] cases = ["empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "status_code_and_message"];
        ClientResult result = await topology.RunClientTlsAsync(ClientTimeout, cases);

        log.WriteLine(string.Join('\n', result.Stdout));
        Assert.True(result.ExitCode == 0, $"calls over the https listener failed:\n{result.Output}\n{topology.Output}");
        Assert.All(cases, c => Assert.Contains($"PASS {c}", result.Stdout));
    }

    [Fact]
    public async Task TrailersOnly_ErrorStatusAndUnimplementedThroughGateways_StatusAndMessageIntactInOneHeadersFrame()
    {
        using HttpClient http = RawGrpcClient.H2c();
        string ingress = $"http://{topology.Ingress}";
        RawGrpcResponse echoed = await RawGrpcClient.CallAsync(
            http,
            ingress,
            UnaryMethod,
            GrpcTestWire.Frame(GrpcTestWire.SimpleRequest(0, statusCode: 2, statusMessage: "test status message")),
            "application/grpc");
        RawGrpcResponse unimplemented = await RawGrpcClient.CallAsync(
            http,
            ingress,
            "/grpc.testing.TestService/UnimplementedCall",
            GrpcTestWire.Frame([]),
            "application/grpc");
        log.WriteLine($"status 2: {echoed}\nunimplemented: {unimplemented}");

        // Status and message intact, wherever they are.
        Assert.Equal("2", Status(echoed));
        Assert.Equal("test status message", Uri.UnescapeDataString(Message(echoed) ?? ""));
        Assert.Equal("12", Status(unimplemented));

        // And in the form the server sent them: Trailers-Only (one HEADERS frame, no DATA, no trailers).
        Assert.True(echoed.IsTrailersOnly, $"the server's Trailers-Only response lost its form: {echoed}");
        Assert.True(unimplemented.IsTrailersOnly, $"the server's Trailers-Only response lost its form: {unimplemented}");
        Assert.Contains(echoed.Headers.GetValueOrDefault("x-served-by") ?? echoed.Trailers.GetValueOrDefault("x-served-by"), new[] { "r1", "r2" });

        static string? Status(RawGrpcResponse r) => r.Headers.GetValueOrDefault("grpc-status") ?? r.Trailers.GetValueOrDefault("grpc-status");
        static string? Message(RawGrpcResponse r) => r.Headers.GetValueOrDefault("grpc-message") ?? r.Trailers.GetValueOrDefault("grpc-message");
    }

    [Fact]
    public async Task UnroutedServiceNoReplicaOfThatName_Unimplemented_NotUnavailable()
    {
        // No route matches and no fabric service has the gRPC service's name: the method does not exist anywhere
        // (UNIMPLEMENTED, as a server would answer), which clients must not retry as they would UNAVAILABLE.
        using HttpClient http = RawGrpcClient.H2c();
        RawGrpcResponse response = await RawGrpcClient.CallAsync(http, $"http://{topology.Ingress}", "/no.such.Service/Method", GrpcTestWire.Frame([]), "application/grpc");
        log.WriteLine(response.ToString());

        string? status = response.Headers.GetValueOrDefault("grpc-status") ?? response.Trailers.GetValueOrDefault("grpc-status");
        string? message = response.Headers.GetValueOrDefault("grpc-message") ?? response.Trailers.GetValueOrDefault("grpc-message");
        Assert.Equal("12", status);
        Assert.Equal("unknown service no.such.Service", Uri.UnescapeDataString(message ?? ""));
    }

    [Fact]
    public async Task Deadline_OneSecondClientTimeoutThroughGateways_BackendSawADeadlineNoLonger()
    {
        const int timeoutMs = 1000;
        double since = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        ClientResult result = await topology.RunClientAsync(ClientTimeout, "--sleeping-timeout-ms", timeoutMs.ToString(CultureInfo.InvariantCulture), "timeout_on_sleeping_server");
        Assert.True(result.ExitCode == 0, result.Output);

        // What each replica logged for calls that asked it to (x-grpc-test-report-timeout): the time left on arrival.
        List<(string Replica, int? Ms)> seen = [];
        foreach (InteropServer replica in topology.Replicas)
        {
            if (!File.Exists(replica.TimeoutLog))
            {
                continue;
            }

            foreach (string line in await File.ReadAllLinesAsync(replica.TimeoutLog))
            {
                JsonElement entry = JsonDocument.Parse(line).RootElement;
                if (entry.GetProperty("at").GetDouble() >= since)
                {
                    JsonElement ms = entry.GetProperty("grpc_timeout_ms");
                    seen.Add((replica.Replica, ms.ValueKind == JsonValueKind.Number ? ms.GetInt32() : null));
                }
            }
        }

        log.WriteLine($"client timeout {timeoutMs} ms; the backend saw: {string.Join(", ", seen.Select(s => $"{s.Replica}={s.Ms?.ToString(CultureInfo.InvariantCulture) ?? "none"}"))}; client said: {string.Join(" | ", result.Stdout)}");
        Assert.True(seen.Count == 1, $"expected one logged call at the replicas, got {seen.Count}");
        Assert.True(seen[0].Ms is not null, "the backend got no deadline: grpc-timeout was not passed on");

        // gRPC's own encoding rounds up by ~1% client to server (see the direct test); a gateway must not add more.
        Assert.InRange(seen[0].Ms!.Value, 1, (timeoutMs * 101 / 100) + 10);
    }

    [Fact]
    public async Task Split_2000UnaryCallsOnOneChannel_EachReplicaServesAtLeastAQuarter()
    {
        await topology.EnsureBothReplicasServingAsync();
        var clock = Stopwatch.StartNew();
        JsonElement split = await topology.RunJsonAsync(ClientTimeout, "--timeout", "30", "--concurrency", "8", "split", "2000");
        log.WriteLine($"split 2000 in {clock.Elapsed.TotalSeconds:F1} s: {split} (the topology came up in {topology.StartupTime.TotalSeconds:F1} s)");

        Assert.True(split.GetProperty("ok").GetInt32() == 2000, $"{split}\n{topology.GatewayProblems()}");
        JsonElement served = split.GetProperty("served_by");
        int r1 = served.TryGetProperty("r1", out JsonElement v1) ? v1.GetInt32() : 0;
        int r2 = served.TryGetProperty("r2", out JsonElement v2) ? v2.GetInt32() : 0;
        Assert.Equal(2000, r1 + r2);
        Assert.True(r1 >= 500 && r2 >= 500, $"uneven split over one channel: r1={r1} r2={r2}");
    }

    [Fact]
    public async Task MessageOverMaxMessageBytes_ResourceExhausted_MessageAtTheLimitPasses()
    {
        // A SimpleRequest {response_size: 1, payload {body: N zeros}} serializes to N + 12 bytes.
        JsonElement over = await topology.RunJsonAsync(ClientTimeout, "oversize", (MaxMessageBytes - 12 + 1).ToString(CultureInfo.InvariantCulture));
        JsonElement atLimit = await topology.RunJsonAsync(ClientTimeout, "oversize", (MaxMessageBytes - 12).ToString(CultureInfo.InvariantCulture));
        JsonElement far = await topology.RunJsonAsync(ClientTimeout, "oversize", "8000000");
        log.WriteLine($"limit+1: {over}\nlimit: {atLimit}\n8 MB: {far}");

        Assert.Equal("RESOURCE_EXHAUSTED", over.GetProperty("code").GetString());
        Assert.Equal("RESOURCE_EXHAUSTED", far.GetProperty("code").GetString());
        Assert.Equal("OK", atLimit.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ThousandConcurrentStreams_HeldOpenAtOnceOnOneChannel_AllSucceed()
    {
        var clock = Stopwatch.StartNew();
        JsonElement result = await topology.RunJsonAsync(ClientTimeout, "--timeout", "60", "concurrent", "1000");
        log.WriteLine($"concurrent 1000 in {clock.Elapsed.TotalSeconds:F1} s: {result}");

        Assert.True(result.GetProperty("ok").GetInt32() == 1000, $"{result}\n{Tail(topology.Output)}");
        Assert.Equal(1000, result.GetProperty("held_open").GetInt32());
    }

    [Fact]
    public async Task ReplicaKilledDuringLoad_InFlightCallsUnavailable_LaterCallsSucceedOnTheOther()
    {
        await topology.EnsureBothReplicasServingAsync();
        var grace = TimeSpan.FromSeconds(3 * GrpcGatewayTopology.HealthCheckSeconds);
        double killedAt;
        ClientResult run;
        using (ChildProcess load = InteropPeers.StartClient(topology.GenDirectory, topology.Ingress, "--timeout", "20", "--workers", "16", "--call-ms", "400", "load", "8"))
        {
            try
            {
                await load.WaitForLineAsync(l => l == "STARTED", TimeSpan.FromSeconds(30), "its first successful call");
                await Task.Delay(1500); // calls in flight on both replicas
                killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
                topology.R1.Kill();
                Assert.True(await load.WaitForExitAsync(ClientTimeout), $"load did not finish:\n{load.Output}");
                run = new ClientResult(load.ExitCode, load.StdoutLines, load.Output);
            }
            finally
            {
                load.Kill();
            }
        }

        try
        {
            Assert.True(run.ExitCode == 0, run.Output);
            JsonElement result = run.Json;
            var calls = result.GetProperty("calls").EnumerateArray()
                .Select(c => (Start: c[0].GetDouble(), End: c[1].GetDouble(), Code: c[2].GetString()!, By: c[3].ValueKind == JsonValueKind.String ? c[3].GetString() : null))
                .ToList();
            var inFlight = calls.Where(c => c.Start < killedAt && c.End >= killedAt).ToList();
            var after = calls.Where(c => c.Start >= killedAt + grace.TotalSeconds).ToList();
            var failedAfterKill = calls.Where(c => c.Start >= killedAt && c.Code != "OK").ToList();
            double lastFailure = calls.Where(c => c.Code != "OK").Select(c => c.Start - killedAt).DefaultIfEmpty(double.NaN).Max();
            log.WriteLine(
                $"counts {result.GetProperty("counts")}, served_by {result.GetProperty("served_by")}; in flight at the kill: {inFlight.Count} " +
                $"({string.Join(", ", inFlight.GroupBy(c => $"{c.By}:{c.Code}").Select(g => $"{g.Key}={g.Count()}"))}); " +
                $"started after the kill and failed: {failedAfterKill.Count}; last failed call started {lastFailure:F2} s after the kill; " +
                $"started later than {grace.TotalSeconds} s after it: {after.Count} ({string.Join(", ", after.GroupBy(c => $"{c.By}:{c.Code}").Select(g => $"{g.Key}={g.Count()}"))})");

            string[] codes = [.. calls.Select(c => c.Code).Distinct()];
            Assert.True(codes.All(c => c is "OK" or "UNAVAILABLE"), $"statuses other than OK and UNAVAILABLE: {result.GetProperty("counts")}\n{Tail(topology.Output)}");
            Assert.Contains(calls, c => c.By == "r1" && c.Code == "OK" && c.End < killedAt);
            Assert.True(after.Count >= 20, $"only {after.Count} calls started {grace.TotalSeconds} s after the kill");
            Assert.True(after.All(c => c.Code == "OK"), $"calls started {grace.TotalSeconds} s after the kill failed: {string.Join(", ", after.Where(c => c.Code != "OK").Take(10))}");
            Assert.True(after.All(c => c.By == "r2"), "calls after the kill not served by the surviving replica");
        }
        finally
        {
            await topology.EnsureBothReplicasServingAsync();
        }
    }

    [Fact]
    public async Task ReplicaFlippedToNotServing_StopsGettingNewCallsWithinAFewHealthIntervals()
    {
        await topology.EnsureBothReplicasServingAsync();
        TimeSpan bound = TimeSpan.FromSeconds(4 * GrpcGatewayTopology.HealthCheckSeconds + 1);
        var clock = Stopwatch.StartNew();
        try
        {
            await topology.R1.SetHealthAsync("NOT_SERVING");

            // Small samples until one no longer reaches r1; then a bigger one must not either.
            TimeSpan drained = TimeSpan.Zero;
            await topology.WaitForAsync(
                async () =>
                {
                    TimeSpan sampleStart = clock.Elapsed;
                    Dictionary<string, int> s = await topology.SampleAsync(20);
                    drained = sampleStart;
                    return s;
                },
                s => s.GetValueOrDefault("r1") == 0 && s.GetValueOrDefault("r2") == 20,
                "r1 drained",
                bound + TimeSpan.FromSeconds(10));
            Dictionary<string, int> confirm = await topology.SampleAsync(200);
            log.WriteLine($"r1 drained {drained.TotalSeconds:F2} s after NOT_SERVING (bound {bound.TotalSeconds} s); next 200 calls: {string.Join(", ", confirm)}");

            Assert.True(drained <= bound, $"r1 still got calls {drained.TotalSeconds:F2} s after it said NOT_SERVING");
            Assert.Equal(0, confirm.GetValueOrDefault("r1"));
            Assert.Equal(200, confirm.GetValueOrDefault("r2"));
        }
        finally
        {
            await topology.R1.SetHealthAsync("SERVING");
            var back = Stopwatch.StartNew();
            await topology.EnsureBothReplicasServingAsync();
            log.WriteLine($"r1 back in rotation {back.Elapsed.TotalSeconds:F2} s after SERVING");
        }
    }

    [Fact]
    public async Task GatewayHealthWatch_StreamsEachChange_ServingNotServingServing()
    {
        await topology.EnsureBothReplicasServingAsync();
        using ChildProcess watch = InteropPeers.StartClient(topology.GenDirectory, topology.Ingress, "--timeout", "60", "watch", GrpcGatewayTopology.TestService);
        try
        {
            TimeSpan change = TimeSpan.FromSeconds(10 * GrpcGatewayTopology.HealthCheckSeconds);
            string[] Statuses() => [.. watch.StdoutLines.Where(l => l.StartsWith("{\"status\"", StringComparison.Ordinal)).Select(l => l.Split('"')[3])];
            Task StatusesAsync(int count, TimeSpan timeout, string what) => watch.WaitForLineAsync(_ => Statuses().Length >= count, timeout, what);

            await StatusesAsync(1, TimeSpan.FromSeconds(30), "the first status");
            Assert.Equal(["SERVING"], Statuses());

            await Task.WhenAll(topology.R1.SetHealthAsync("NOT_SERVING"), topology.R2.SetHealthAsync("NOT_SERVING"));
            await StatusesAsync(2, change, "a second status once no replica serves");
            Assert.Equal(["SERVING", "NOT_SERVING"], Statuses());

            await topology.R2.SetHealthAsync("SERVING");
            await StatusesAsync(3, change, "a third status once one replica serves again");

            // Only changes are streamed: no repeats in between.
            Assert.Equal(["SERVING", "NOT_SERVING", "SERVING"], Statuses());
            Assert.False(watch.HasExited, $"the Watch stream ended:\n{watch.Output}");
        }
        finally
        {
            watch.Kill();
            await Task.WhenAll(topology.R1.SetHealthAsync("SERVING"), topology.R2.SetHealthAsync("SERVING"));
            await topology.EnsureBothReplicasServingAsync();
        }
    }

    [Fact]
    public async Task GatewayHealthCheck_PerContract_ServingNotServingAndNotFound()
    {
        await topology.EnsureBothReplicasServingAsync();
        Assert.Equal("SERVING", await GatewayHealthAsync(""));
        Assert.Equal("SERVING", await GatewayHealthAsync(GrpcGatewayTopology.TestService));
        Assert.Equal("NOT_FOUND", await GatewayHealthAsync("no.such.Service"));

        var clock = Stopwatch.StartNew();
        try
        {
            await Task.WhenAll(topology.R1.SetHealthAsync("NOT_SERVING"), topology.R2.SetHealthAsync("NOT_SERVING"));
            await topology.WaitForAsync(
                () => GatewayHealthAsync(GrpcGatewayTopology.TestService),
                s => s == "NOT_SERVING",
                "the gateway's Check saying NOT_SERVING with no healthy replica",
                TimeSpan.FromSeconds(10 * GrpcGatewayTopology.HealthCheckSeconds));
            log.WriteLine($"NOT_SERVING at the gateway {clock.Elapsed.TotalSeconds:F2} s after both replicas said so");
            Assert.Equal("SERVING", await GatewayHealthAsync(""));
        }
        finally
        {
            await Task.WhenAll(topology.R1.SetHealthAsync("SERVING"), topology.R2.SetHealthAsync("SERVING"));
        }

        await topology.WaitForAsync(
            () => GatewayHealthAsync(GrpcGatewayTopology.TestService),
            s => s == "SERVING",
            "the gateway's Check saying SERVING again",
            TimeSpan.FromSeconds(15));
        await topology.EnsureBothReplicasServingAsync();
    }

    [Fact]
    public async Task ShutdownDrain_SigtermIngressDuringSlowServerStreamingCall_CallCompletesOk_HealthWatchEnds()
    {
        // A2 is there for this test only: a 10-response call, 300 ms apart; SIGTERM after the first response. A
        // health Watch is open too: it never ends on its own, and must not hold the stop (45 s budget).
        using ChildProcess watch = InteropPeers.StartClient(topology.GenDirectory, topology.DrainIngress, "--timeout", "120", "watch", "");
        await watch.WaitForLineAsync(l => l.Contains("\"SERVING\"", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the Watch's SERVING");
        using ChildProcess slow = InteropPeers.StartClient(topology.GenDirectory, topology.DrainIngress, "--timeout", "60", "slow", "10", "300");
        await slow.WaitForLineAsync(l => l == "FIRST", TimeSpan.FromSeconds(30), "its first response");
        var clock = Stopwatch.StartNew();
        topology.A2.Terminate();
        bool clientDone = await slow.WaitForExitAsync(TimeSpan.FromSeconds(60));
        TimeSpan callDone = clock.Elapsed;
        bool gatewayExited = await topology.A2.WaitForExitAsync(TimeSpan.FromSeconds(60));
        TimeSpan gatewayDone = clock.Elapsed;
        Assert.True(clientDone, $"the slow call did not end:\n{slow.Output}");
        JsonElement result = new ClientResult(slow.ExitCode, slow.StdoutLines, slow.Output).Json;
        log.WriteLine(
            $"slow call after SIGTERM: {result}; call ended {callDone.TotalSeconds:F2} s after SIGTERM; " +
            $"gateway {(gatewayExited ? $"exited with {topology.A2.ExitCode} {gatewayDone.TotalSeconds:F2} s" : "still running 60 s")} after SIGTERM");

        Assert.True(result.GetProperty("code").GetString() == "OK", $"the in-flight call did not complete: {result}\n{Tail(topology.A2.Output)}");
        Assert.Equal(10, result.GetProperty("responses").GetInt32());
        Assert.True(gatewayExited, $"A2 did not exit within 60 s of SIGTERM:\n{Tail(topology.A2.Output)}");
        Assert.True(gatewayDone < TimeSpan.FromSeconds(20), $"A2 took {gatewayDone.TotalSeconds:F1} s to exit (the open Watch held the stop?):\n{Tail(topology.A2.Output)}");

        Assert.True(await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)), $"the Watch did not end:\n{watch.Output}");
        string end = watch.StdoutLines.Last();
        log.WriteLine($"watch: {string.Join(" | ", watch.StdoutLines)}");
        Assert.True(end.Contains("\"UNAVAILABLE\"", StringComparison.Ordinal) && end.Contains("the gateway is stopping", StringComparison.Ordinal), $"the Watch ended with {end}");
    }

    [Theory]
    [MemberData(nameof(GrpcWebCalls))]
    public async Task GrpcWeb_OverHttp11_PayloadsAndGrpcStatusInTrailerFrame(string contentType, string kind)
    {
        bool text = contentType.EndsWith("-text", StringComparison.Ordinal);
        bool unary = kind == "unary";
        int[] sizes = unary ? [1000] : [10, 2000, 30];
        byte[] message = unary
            ? GrpcTestWire.SimpleRequest(1000, payloadSize: 100)
            : GrpcTestWire.StreamingOutputCallRequest(sizes);
        byte[] frame = GrpcTestWire.Frame(message);
        byte[] body = text ? Encoding.ASCII.GetBytes(Convert.ToBase64String(frame)) : frame;

        using HttpClient http = RawGrpcClient.Http11();
        RawGrpcResponse response = await RawGrpcClient.CallAsync(http, topology.IngressWeb, unary ? UnaryMethod : StreamingMethod, body, contentType);
        log.WriteLine(response.ToString());

        Assert.Equal(System.Net.HttpStatusCode.OK, response.Status);
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.StartsWith(contentType, response.Headers.GetValueOrDefault("content-type") ?? "", StringComparison.Ordinal);
        byte[] decoded = text ? GrpcTestWire.DecodeWebText(Encoding.ASCII.GetString(response.Body)) : response.Body;
        List<(byte Flags, byte[] Data)> frames = GrpcTestWire.Frames(decoded);
        Assert.True(frames.Count == sizes.Length + 1, $"{frames.Count} frames, expected {sizes.Length} messages and a trailer frame: {response}");
        for (int i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(0, frames[i].Flags);
            (int length, bool zeros) = GrpcTestWire.ResponsePayload(frames[i].Data);
            Assert.Equal(sizes[i], length);
            Assert.True(zeros);
        }

        Assert.Equal(0x80, frames[^1].Flags);
        Dictionary<string, string> trailers = GrpcTestWire.TrailerLines(frames[^1].Data);
        Assert.Equal("0", trailers.GetValueOrDefault("grpc-status"));
        Assert.Contains(response.Headers.GetValueOrDefault("x-served-by"), new[] { "r1", "r2" });
    }

    [Theory]
    [InlineData("application/grpc-web")]
    [InlineData("application/grpc-web-text")]
    public async Task GrpcWeb_ErrorStatus_StatusAndMessageReachTheClient(string contentType)
    {
        bool text = contentType.EndsWith("-text", StringComparison.Ordinal);
        byte[] frame = GrpcTestWire.Frame(GrpcTestWire.SimpleRequest(0, statusCode: 2, statusMessage: "test status message"));
        byte[] body = text ? Encoding.ASCII.GetBytes(Convert.ToBase64String(frame)) : frame;

        using HttpClient http = RawGrpcClient.Http11();
        RawGrpcResponse response = await RawGrpcClient.CallAsync(http, topology.IngressWeb, UnaryMethod, body, contentType);
        log.WriteLine(response.ToString());

        // A Trailers-Only error travels as headers; a status after headers as a trailer frame. Either is gRPC-Web.
        byte[] decoded = text ? GrpcTestWire.DecodeWebText(Encoding.ASCII.GetString(response.Body)) : response.Body;
        Dictionary<string, string> trailers = GrpcTestWire.Frames(decoded).Where(f => (f.Flags & 0x80) != 0).Select(f => GrpcTestWire.TrailerLines(f.Data)).LastOrDefault() ?? [];
        string? status = response.Headers.GetValueOrDefault("grpc-status") ?? trailers.GetValueOrDefault("grpc-status");
        string? message = response.Headers.GetValueOrDefault("grpc-message") ?? trailers.GetValueOrDefault("grpc-message");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.Status);
        Assert.Equal("2", status);
        Assert.Equal("test status message", Uri.UnescapeDataString(message ?? ""));
    }

    private async Task<string> GatewayHealthAsync(string service)
    {
        JsonElement r = await topology.RunJsonAsync(ClientTimeout, "--timeout", "10", "health", service);
        return r.GetProperty("code").GetString() == "OK" ? r.GetProperty("status").GetString()! : r.GetProperty("code").GetString()!;
    }

    private static string Tail(string output, int lines = 80) => string.Join('\n', output.Split('\n').TakeLast(lines));
}
