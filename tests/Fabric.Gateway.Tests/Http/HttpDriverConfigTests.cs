using System.Text.Json;
using Fabric.Gateway.Tests.Plugins;
using Fabric.Gateway.Tests.Processes;

namespace Fabric.Gateway.Tests.Http;

/// <summary>
/// Configuration errors and failing plugins, on single gateway processes (a node linked to itself: the shipped
/// self-peer, on the test's own port).
/// <para>
/// Intended outcome of a bad <c>Plugins:Settings:http</c> value: the HTTP plugin is failed with a message that names
/// the key and the value, shown on GET /plugins and in the log, and the host keeps running (admin API, fabric, other
/// plugins) — a plugin's failure is contained like any other (docs/PLUGINS.md). A bad value in the host's own
/// <c>Fabric</c> section stops the gateway at start with exit code 2 and the key name.
/// </para>
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed class HttpDriverConfigTests : IAsyncLifetime
{
    private readonly SelfLinkedGateways _scratch = new();

    public Task InitializeAsync() => _scratch.InitializeAsync();

    public Task DisposeAsync() => _scratch.DisposeAsync();

    [Theory]
    [InlineData("Plugins:Settings:http:Listen:0", "nonsense", "is not host:port, h2c://host:port or https://host:port")]
    [InlineData("Plugins:Settings:http:Services:0:Backend", "ftp://x", "is not an http:// or https:// URL with a port")]
    [InlineData("Plugins:Settings:http:MaxConnections", "0", "is outside 1..1000000")]
    public async Task BadHttpSetting_PluginFailedNamingTheKey_HostKeepsRunning(string key, string value, string why)
    {
        (string, string)[] settings = key.EndsWith(":Backend", StringComparison.Ordinal)
            ? [("Plugins:Settings:http:Services:0:Name", "web"), (key, value)]
            : [(key, value)];
        HttpGateway gateway = _scratch.StartSelfLinked("bad-setting", settings);

        JsonElement plugins = await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);

        JsonElement http = plugins.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "http");
        Assert.Equal("Failed", http.GetProperty("state").GetString());
        string failure = http.GetProperty("failure").GetString()!;
        Assert.Contains($"Configuration error at '{key}': '{value}' {why}", failure, StringComparison.Ordinal);
        await _scratch.WaitUntilAsync( // and in the log
            () => Task.FromResult(gateway.Output.Contains($"Plugin http failed: configuring services failed: ArgumentException: Configuration error at '{key}'", StringComparison.Ordinal)),
            "the plugin's failure in the log",
            TimeSpan.FromSeconds(10));

        // The host runs on: its admin API answers, its fabric link to itself is up.
        await _scratch.WaitUntilAsync(
            async () => (await gateway.GetJsonAsync("/links")).GetArrayLength() > 0,
            "the gateway's self-link",
            HttpTopology.Startup);
        using HttpClient admin = HttpTopology.NewClient();
        Assert.Equal("ok\n", await admin.GetStringAsync(new Uri($"http://127.0.0.1:{gateway.AdminPort}/healthz")));
        Assert.False(gateway.HasExited);

        // Alive, but not ready for traffic: /readyz names the failed driver.
        using HttpResponseMessage ready = await admin.GetAsync(new Uri($"http://127.0.0.1:{gateway.AdminPort}/readyz"));
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("plugin http: Failed", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Fabric:Listen", "nonsense")]
    [InlineData("Fabric:Routing:Policy", "Fastest")]
    [InlineData("Fabric:Session:DrainTimeoutSeconds", "0")]
    [InlineData("Fabric:Session:PingTimeoutSeconds", "soon")]
    [InlineData("Fabric:Session:MaxFramePayload", "100")]
    [InlineData("Fabric:Session:Flood:MaxResetsPerSecond", "0")]
    [InlineData("Fabric:Security:CipherSuites:0", "Rot13")]
    [InlineData("Fabric:Tcp:ConnectTimeoutSeconds", "0")]
    [InlineData("Gateway:Limits:MaxRequestHeaderCount", "0")]
    [InlineData("Gateway:Limits:RequestHeadersTimeoutSeconds", "-1")]
    [InlineData("Gateway:ShutdownDelaySeconds", "301")]
    public async Task BadHostSetting_GatewayExits2NamingTheKey(string key, string value)
    {
        HttpGateway gateway = _scratch.StartSelfLinked("bad-fabric", [(key, value)]);

        Assert.True(await gateway.WaitForExitAsync(HttpTopology.Startup), $"the gateway did not exit:\n{gateway.Output}");

        Assert.True(gateway.ExitCode == 2, gateway.Output);
        Assert.Contains($"'{key}'", gateway.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "ChaCha20Poly1305")]
    [InlineData("Aes256Gcm", "Aes256Gcm")]
    public async Task CipherSuitesSetting_TheLinkUsesIt_AdminLinksShowsCipherAndRecordCounters(string? configured, string expected)
    {
        int proxy = GatewayProcess.FreePort();
        (string, string)[] settings = [.. SelfLinkedGateways.ProxyToSampleBackend(proxy), .. configured is null ? [] : new[] { ("Fabric:Security:CipherSuites:0", configured) }];
        HttpGateway gateway = _scratch.StartSelfLinked("cipher", settings);

        using HttpClient http = HttpTopology.NewClient(TimeSpan.FromSeconds(10));
        await _scratch.WaitUntilAsync(
            async () =>
            {
                using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{proxy}/"));
                return response.IsSuccessStatusCode;
            },
            "GET / through the proxy",
            HttpTopology.Startup);

        JsonElement links = await gateway.GetJsonAsync("/links");
        Assert.True(links.GetArrayLength() > 0, links.ToString());
        foreach (JsonElement link in links.EnumerateArray())
        {
            Assert.Equal(expected, link.GetProperty("cipher").GetString());
            JsonElement records = link.GetProperty("records");
            Assert.True(records.GetProperty("sealedCount").GetInt64() > 0 && records.GetProperty("openedCount").GetInt64() > 0, link.ToString());
            Assert.Equal(0, records.GetProperty("rejected").GetInt64());
        }
    }

    [Fact]
    public async Task BrokenPluginsNextToHttp_HttpStillProxiesThroughTheFabric()
    {
        // The real HTTP driver beside test plugins that fail in each step (constructor, ConfigureServices, StartAsync)
        // or cannot load at all.
        string plugins = _scratch.Temp.File("plugins");
        Directory.CreateDirectory(plugins);
        CopyDirectory(Path.Combine(HttpGateway.PluginsDirectory, "http"), Path.Combine(plugins, "http"));
        string[] broken = ["throws-in-constructor", "throws-in-configure-services", "throws-at-start", "missing-assembly"];
        foreach (string plugin in broken)
        {
            TestPluginFolders.CopyTo(plugins, plugin);
        }

        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _scratch.StartSelfLinked("with-broken-plugins", SelfLinkedGateways.ProxyToSampleBackend(proxy), plugins);

        JsonElement list = await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        var states = list.EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("state").GetString());
        Assert.Equal("Running", states["http"]);
        Assert.All(broken, b => Assert.Equal("Failed", states[b]));

        // Ingress (YARP) → the fabric (the node's link to itself) → egress → the sample backend.
        using HttpClient http = HttpTopology.NewClient(TimeSpan.FromSeconds(10));
        string body = "";
        await _scratch.WaitUntilAsync(
            async () =>
            {
                using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{proxy}/"));
                body = await response.Content.ReadAsStringAsync();
                return response.IsSuccessStatusCode;
            },
            "GET / through the proxy",
            HttpTopology.Startup);
        Assert.Equal("Hello from the Fabric Gateway sample backend (with-broken-plugins). You reached it through the fabric.\n", body);

        CurlResult echo = await Curl.RunAsync("--data-binary", "through the fabric", $"http://127.0.0.1:{proxy}/echo");
        Assert.True(echo.Status == 200, echo.ToString());
        Assert.Equal("through the fabric", echo.Body);
    }

    [Fact]
    public async Task Sigterm_AfterProxiedRequests_ExitsWithoutWaitingForIdlePooledConnections()
    {
        // The proxy's HTTP client pool keeps its fabric connections (streams) open after the requests; a node's drain
        // waits for open streams (Fabric:Session:DrainTimeout, 30 s). The driver closes what its pool holds when it
        // stops, so a stop after traffic takes about as long as one without.
        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _scratch.StartSelfLinked("sigterm", SelfLinkedGateways.ProxyToSampleBackend(proxy));
        await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        using (HttpClient http = HttpTopology.NewClient(TimeSpan.FromSeconds(10)))
        {
            await _scratch.WaitUntilAsync(
                async () => (await http.GetAsync(new Uri($"http://127.0.0.1:{proxy}/"))).IsSuccessStatusCode,
                "GET / through the proxy",
                HttpTopology.Startup);
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => http.GetStringAsync(new Uri($"http://127.0.0.1:{proxy}/")))); // several pooled connections
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", gateway.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        Assert.True(await gateway.WaitForExitAsync(TimeSpan.FromSeconds(20)), $"the gateway did not exit within 20 s of SIGTERM:\n{gateway.Output}");
        TimeSpan took = clock.Elapsed;
        Assert.True(took < TimeSpan.FromSeconds(10), $"SIGTERM to exit took {took.TotalSeconds:F1} s (an idle pooled connection held the drain?):\n{gateway.Output}");
        Assert.Equal(0, gateway.ExitCode);
    }

    [Fact]
    public async Task Sigterm_WithAnOpenWebSocket_KeptThroughTheShutdownDelay_ThenClosed_ExitsSoon()
    {
        // An upgraded connection never ends on its own; Kestrel would wait for it until the stop budget (45 s here).
        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _scratch.StartSelfLinked("ws-sigterm", [.. SelfLinkedGateways.ProxyToSampleBackend(proxy), ("Gateway:ShutdownDelaySeconds", "1")]);
        await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        await _scratch.WaitUntilAsync(async () => (await Curl.RunAsync($"http://127.0.0.1:{proxy}/")).Status == 200, "GET / through the proxy", HttpTopology.Startup);

        string script = _scratch.Temp.File("ws_hold.py");
        await File.WriteAllTextAsync(script, PeerScripts.WebSocketHold);
        using ChildProcess client = ChildProcess.Start("ws-hold", PeerScripts.Python, [script, $"ws://127.0.0.1:{proxy}/ws"], _scratch.Temp.Path);
        await client.WaitForLineAsync(line => line == "OPEN", TimeSpan.FromSeconds(30), "the WebSocket open");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        gateway.Terminate();
        string closed = await client.WaitForLineAsync(line => line.StartsWith("CLOSED ", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the WebSocket closed");
        double openFor = double.Parse(closed["CLOSED ".Length..], System.Globalization.CultureInfo.InvariantCulture);

        Assert.True(await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60)), $"the gateway did not exit within 60 s of SIGTERM:\n{gateway.Output}");
        TimeSpan took = clock.Elapsed;
        Assert.True(openFor >= 0.9, $"the WebSocket was closed {openFor:F2} s after SIGTERM, inside the 1 s shutdown delay");
        Assert.True(took < TimeSpan.FromSeconds(10), $"SIGTERM to exit took {took.TotalSeconds:F1} s (the WebSocket held the stop?):\n{gateway.Output}");
        Assert.Equal(0, gateway.ExitCode);
    }

    [Fact]
    public async Task ShutdownDelay_Sigterm_ReadyzSays503WhileStillProxying_ThenExits()
    {
        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _scratch.StartSelfLinked("shutdown-delay", [.. SelfLinkedGateways.ProxyToSampleBackend(proxy), ("Gateway:ShutdownDelaySeconds", "3")]);
        await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        await _scratch.WaitUntilAsync(async () => (await Curl.RunAsync($"http://127.0.0.1:{proxy}/")).Status == 200, "GET / through the proxy", HttpTopology.Startup);
        using HttpClient admin = HttpTopology.NewClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await admin.GetAsync(new Uri($"http://127.0.0.1:{gateway.AdminPort}/readyz"))).StatusCode);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", gateway.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        // Within the delay: not ready, still serving.
        await _scratch.WaitUntilAsync(
            async () => (await admin.GetAsync(new Uri($"http://127.0.0.1:{gateway.AdminPort}/readyz"))).StatusCode == System.Net.HttpStatusCode.ServiceUnavailable,
            "/readyz saying 503",
            TimeSpan.FromSeconds(2));
        CurlResult during = await Curl.RunAsync($"http://127.0.0.1:{proxy}/");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the checks took {clock.Elapsed.TotalSeconds:F1} s, past the delay");
        Assert.True(during.Status == 200, $"not served during the shutdown delay: {during}");

        Assert.True(await gateway.WaitForExitAsync(TimeSpan.FromSeconds(20)), $"the gateway did not exit:\n{gateway.Output}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2.9), $"exited {clock.Elapsed.TotalSeconds:F1} s after SIGTERM, before the 3 s delay");
        Assert.Equal(0, gateway.ExitCode);
    }

    [Fact]
    public async Task HttpsListener_CurlWithTheCa_Http11AndHttp2ThroughTheFabric()
    {
        // A self-signed certificate for 127.0.0.1, written as PEM certificate and key files as operators provide them.
        string certFile = _scratch.Temp.File("proxy.pem"), keyFile = _scratch.Temp.File("proxy.key");
        TestCertificates.WriteSelfSignedLoopback(certFile, keyFile);

        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _scratch.StartSelfLinked(
            "https-listener",
            [
                .. SelfLinkedGateways.ProxyToSampleBackend(proxy),
                ("Plugins:Settings:http:Listen:0", $"https://127.0.0.1:{proxy}"),
                ("Plugins:Settings:http:CertificatePath", certFile),
                ("Plugins:Settings:http:CertificateKeyPath", keyFile),
            ]);
        JsonElement plugins = await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        Assert.Equal("Running", plugins.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "http").GetProperty("state").GetString());

        string url = $"https://127.0.0.1:{proxy}/";
        CurlResult http11 = default!;
        await _scratch.WaitUntilAsync(
            async () => (http11 = await Curl.RunAsync("--cacert", certFile, "--http1.1", url)).Status == 200,
            "GET / over https through the proxy",
            HttpTopology.Startup);
        Assert.Equal("1.1", http11.HttpVersion);
        Assert.Equal("Hello from the Fabric Gateway sample backend (https-listener). You reached it through the fabric.\n", http11.Body);

        CurlResult http2 = await Curl.RunAsync("--cacert", certFile, "--http2", "--data-binary", "over h2", $"{url}echo");
        Assert.True(http2.Status == 200, http2.ToString());
        Assert.Equal("2", http2.HttpVersion); // ALPN h2
        Assert.Equal("over h2", http2.Body);

        // Without the CA curl refuses the certificate: the listener really speaks TLS with the configured certificate.
        CurlResult untrusted = await Curl.RunAsync(url);
        Assert.Equal(60, untrusted.ExitCode); // CURLE_PEER_FAILED_VERIFICATION
    }

    [Fact]
    public async Task MaxConnections_OneMoreClosedAtAccept_ServedAgainOnceOneLeaves()
    {
        const int Max = 4;
        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _scratch.StartSelfLinked("max-connections", [.. SelfLinkedGateways.ProxyToSampleBackend(proxy), ("Plugins:Settings:http:MaxConnections", $"{Max}")]);
        await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        await _scratch.WaitUntilAsync(async () => (await Curl.RunAsync($"http://127.0.0.1:{proxy}/")).Status == 200, "GET / through the proxy", HttpTopology.Startup);

        // Max keep-alive connections, each answered once and kept open.
        var held = new List<System.Net.Sockets.TcpClient>();
        try
        {
            // (The warm-up curl's connection may still be counted for a moment after curl has gone: a held
            // connection refused then is tried again, briefly.)
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (held.Count < Max)
            {
                var client = new System.Net.Sockets.TcpClient();
                string answer = await ConnectAndGetOnceAsync(client, proxy);

                if (answer.Length == 0 && DateTime.UtcNow < deadline)
                {
                    client.Dispose();
                    await Task.Delay(100);
                    continue;
                }

                held.Add(client);
                Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
            }

            // One more: accepted by the kernel, closed by the gateway before it reads a byte; no answer.
            using (var extra = new System.Net.Sockets.TcpClient())
            {
                string answer = await ConnectAndGetOnceAsync(extra, proxy);

                Assert.True(answer.Length == 0, $"the connection over the limit was answered: {answer}");
            }

            // The held ones still work.
            Assert.StartsWith("HTTP/1.1 200", await GetOnceAsync(held[0].GetStream()), StringComparison.Ordinal);

            // One leaves: a new client (curl) is served again.
            held[^1].Dispose();
            held.RemoveAt(held.Count - 1);
            await _scratch.WaitUntilAsync(async () => (await Curl.RunAsync($"http://127.0.0.1:{proxy}/")).Status == 200, "GET / after a connection left", TimeSpan.FromSeconds(10));
            Assert.Contains("HTTP driver at its connection limit (4)", gateway.Output, StringComparison.Ordinal);
        }
        finally
        {
            held.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task ConfigFile_RoutesAndAccessReloadWithoutRestart_ABrokenFileKeepsTheLastGood()
    {
        int proxy = GatewayProcess.FreePort(), sample = GatewayProcess.FreePort();
        string file = _scratch.Temp.File("reload.json");
        File.WriteAllText(file, ReloadableConfig(generation: 1, denyWeb: false));
        HttpGateway gateway = _scratch.StartSelfLinked("reload", [
            ("Gateway:ConfigFile", file),
            ("Gateway:SampleBackendListen", $"127.0.0.1:{sample}"),
            ("Plugins:Settings:http:Listen:0", $"127.0.0.1:{proxy}"),
            ("Plugins:Settings:http:Services:0:Name", "web"),
            ("Plugins:Settings:http:Services:0:Backend", $"http://127.0.0.1:{sample}"),
        ]);
        await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        string url = $"http://127.0.0.1:{proxy}/";
        CurlResult answer = default!;
        await _scratch.WaitUntilAsync(async () => (answer = await Curl.RunAsync("-i", url)).Status == 200, "GET / through the proxy", HttpTopology.Startup);
        Assert.Contains("X-Config-Generation: 1", answer.Body, StringComparison.OrdinalIgnoreCase);

        // A route change (YARP's own reload) takes effect without a restart.
        File.WriteAllText(file, ReloadableConfig(generation: 2, denyWeb: false));
        await _scratch.WaitUntilAsync(async () => (answer = await Curl.RunAsync("-i", url)).Body.Contains("X-Config-Generation: 2", StringComparison.OrdinalIgnoreCase), "the route's new transform", TimeSpan.FromSeconds(30));
        Assert.Equal(200, answer.Status);

        // An access rule that denies the service applies at once: the proxy answers 502 and says why.
        File.WriteAllText(file, ReloadableConfig(generation: 3, denyWeb: true));
        await _scratch.WaitUntilAsync(async () => (answer = await Curl.RunAsync(url)).Status == 502, "502 once web is denied", TimeSpan.FromSeconds(30));
        Assert.Contains("cluster 'web'", answer.Body, StringComparison.Ordinal);
        Assert.Contains("Access policy reloaded (1 rules)", gateway.Output, StringComparison.Ordinal);

        // A broken file (a save half done) changes nothing: the deny rule stays in force, the routes stay, it is logged.
        File.WriteAllText(file, ReloadableConfig(generation: 4, denyWeb: false)[..40]);
        await _scratch.WaitUntilAsync(
            () => Task.FromResult(gateway.Output.Contains("could not be reloaded, the last good configuration stays in force", StringComparison.Ordinal)),
            "the failed reload in the log",
            TimeSpan.FromSeconds(30));
        for (int i = 0; i < 3; i++)
        {
            answer = await Curl.RunAsync(url);
            Assert.True(answer.Status == 502, $"after a broken file: {answer}");
        }

        // So does a file that is gone for a moment (an editor's save by rename).
        File.Delete(file);
        await _scratch.WaitUntilAsync(
            () => Task.FromResult(gateway.Output.Contains("reload.json' is gone", StringComparison.Ordinal)),
            "the missing file in the log",
            TimeSpan.FromSeconds(30));
        Assert.Equal(502, (await Curl.RunAsync(url)).Status);

        // The fixed file is taken: served again, with generation 5's route.
        File.WriteAllText(file, ReloadableConfig(generation: 5, denyWeb: false));
        await _scratch.WaitUntilAsync(async () => (answer = await Curl.RunAsync("-i", url)).Status == 200, "served again after the fix", TimeSpan.FromSeconds(30));
        Assert.Contains("X-Config-Generation: 5", answer.Body, StringComparison.OrdinalIgnoreCase);
        Assert.False(gateway.HasExited);
    }

    /// <summary>A node's own configuration file (Gateway:ConfigFile) with one route to fabric://web, its generation in a response header, and optionally a rule denying web.</summary>
    private static string ReloadableConfig(int generation, bool denyWeb) => $$"""
        {
          "ReverseProxy": {
            "Routes": {
              "demo": {
                "ClusterId": "web",
                "Match": { "Path": "{**catch-all}" },
                "Transforms": [ { "ResponseHeader": "X-Config-Generation", "Set": "{{generation}}", "When": "Always" } ]
              }
            },
            "Clusters": { "web": { "Destinations": { "fabric": { "Address": "fabric://web" } } } }
          },
          "Fabric": { "Access": { "Rules": [ {{(denyWeb ? """{ "Services": [ "web" ], "Action": "Deny" }""" : "")}} ] } }
        }
        """;

    [Fact]
    public async Task GatewayLimits_SlowHeadersCutOff_TooManyHeaders431_NormalRequestsServed()
    {
        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _scratch.StartSelfLinked(
            "limits",
            [.. SelfLinkedGateways.ProxyToSampleBackend(proxy), ("Gateway:Limits:RequestHeadersTimeoutSeconds", "1"), ("Gateway:Limits:MaxRequestHeaderCount", "10")]);
        await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);
        await _scratch.WaitUntilAsync(async () => (await Curl.RunAsync($"http://127.0.0.1:{proxy}/")).Status == 200, "GET / through the proxy", HttpTopology.Startup);

        // A slowloris client: the request line and one header, then nothing. Cut off about a second later.
        using (var slow = new System.Net.Sockets.TcpClient())
        {
            await slow.ConnectAsync(System.Net.IPAddress.Loopback, proxy);
            System.Net.Sockets.NetworkStream stream = slow.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var received = new System.Text.StringBuilder();
            byte[] buffer = new byte[1024];
            using var give = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer, give.Token)) > 0)
                {
                    received.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
                }
            }
            catch (IOException)
            {
                // reset after the answer: the cut off is what counts
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the slow client was held {clock.Elapsed.TotalSeconds:F1} s");
            Assert.StartsWith("HTTP/1.1 408", received.ToString(), StringComparison.Ordinal);
        }

        // Eleven headers where ten are allowed: 431 from curl's point of view.
        string[] headers = [.. Enumerable.Range(0, 11).SelectMany(i => new[] { "-H", $"X-Extra-{i}: {i}" })];
        CurlResult many = await Curl.RunAsync([.. headers, $"http://127.0.0.1:{proxy}/"]);
        Assert.True(many.Status == 431, many.ToString());

        // An ordinary request is still served.
        CurlResult normal = await Curl.RunAsync($"http://127.0.0.1:{proxy}/");
        Assert.True(normal.Status == 200, normal.ToString());
    }

    [Fact]
    public async Task HttpsBackend_NginxOverTls_Http11AndH2ByAlpn_UntrustedCertificate502()
    {
        string cert = _scratch.Temp.File("backend.pem"), key = _scratch.Temp.File("backend.key");
        TestCertificates.WriteSelfSignedLoopback(cert, key);
        int backend = GatewayProcess.FreePort(), proxy = GatewayProcess.FreePort(), proxyH2c = GatewayProcess.FreePort();
        await _scratch.StartNginxRecorderAsync("tls-backend", backend, (cert, key));

        // Two services on the same nginx: "web" accepts its self-signed certificate, "strict" does not.
        HttpGateway gateway = _scratch.StartSelfLinked(
            "https-backend",
            [
                ("Plugins:Settings:http:Listen:0", $"127.0.0.1:{proxy}"),
                ("Plugins:Settings:http:Listen:1", $"h2c://127.0.0.1:{proxyH2c}"),
                ("Plugins:Settings:http:Services:0:Name", "web"),
                ("Plugins:Settings:http:Services:0:Backend", $"https://127.0.0.1:{backend}"),
                ("Plugins:Settings:http:Services:0:AcceptAnyCertificate", "true"),
                ("Plugins:Settings:http:Services:1:Name", "strict"),
                ("Plugins:Settings:http:Services:1:Backend", $"https://127.0.0.1:{backend}"),
                ("ReverseProxy:Routes:demo:ClusterId", "web"), // the shipped catch-all route, to this cluster
                ("ReverseProxy:Clusters:web:Destinations:fabric:Address", "fabric://web"),
                ("ReverseProxy:Routes:h2:ClusterId", "web-h2"),
                ("ReverseProxy:Routes:h2:Match:Path", "/h2/{**rest}"),
                ("ReverseProxy:Clusters:web-h2:Destinations:fabric:Address", "fabric://web"),
                ("ReverseProxy:Clusters:web-h2:HttpRequest:Version", "2"),
                ("ReverseProxy:Clusters:web-h2:HttpRequest:VersionPolicy", "RequestVersionExact"),
                ("ReverseProxy:Routes:strict:ClusterId", "strict"),
                ("ReverseProxy:Routes:strict:Match:Path", "/strict/{**rest}"),
                ("ReverseProxy:Clusters:strict:Destinations:fabric:Address", "fabric://strict"),
            ]);
        await gateway.WaitPluginsSettledAsync(HttpTopology.Startup);

        // A cluster with YARP's default version (HTTP/1.1 to plain-http destinations): the egress offers http/1.1 by
        // ALPN and nginx answers over TLS 1.3.
        CurlResult http11 = default!;
        await _scratch.WaitUntilAsync(async () => (http11 = await Curl.RunAsync($"http://127.0.0.1:{proxy}/a")).Status == 200, "GET /a through the proxy", HttpTopology.Startup);
        Assert.Equal("recorded /a over HTTP/1.1 and TLSv1.3\n", http11.Body);

        // A cluster asking for HTTP/2 towards the backend: the egress sees the preface, offers h2 by ALPN, and nginx
        // speaks HTTP/2 over TLS (the client here is HTTP/2 too, on the h2c listener).
        CurlResult h2 = await Curl.RunAsync("--http2-prior-knowledge", $"http://127.0.0.1:{proxyH2c}/h2/b");
        Assert.True(h2.Status == 200, h2.ToString());
        Assert.Equal("2", h2.HttpVersion);
        Assert.Equal("recorded /h2/b over HTTP/2.0 and TLSv1.3\n", h2.Body);

        // The same backend without AcceptAnyCertificate: the egress refuses its certificate, the client gets 502.
        CurlResult strict = await Curl.RunAsync($"http://127.0.0.1:{proxy}/strict/c");
        Assert.True(strict.Status == 502, strict.ToString());
    }

    /// <summary>Sends one keep-alive GET / and reads until the response's body has come (or the connection ends): what arrived.</summary>
    /// <summary>
    /// Connects and sends one GET; "" when the gateway closed the connection unanswered. Its reset can arrive
    /// before the client's connect completes, and then the connect itself reports it.
    /// </summary>
    private static async Task<string> ConnectAndGetOnceAsync(System.Net.Sockets.TcpClient client, int port)
    {
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            return await GetOnceAsync(client.GetStream());
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset)
        {
            return "";
        }
    }

    private static async Task<string> GetOnceAsync(System.Net.Sockets.NetworkStream stream)
    {
        byte[] request = System.Text.Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        try
        {
            await stream.WriteAsync(request);
        }
        catch (IOException)
        {
            return ""; // already reset by the gateway
        }

        var received = new System.Text.StringBuilder();
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (!IsComplete(received.ToString()))
            {
                int n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (IOException)
        {
            // reset: what came before it is the answer
        }

        return received.ToString();

        // The sample backend's answer: chunked (ends with the last chunk) or with a Content-Length (ends with the text).
        static bool IsComplete(string text) => text.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)
            ? text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal)
            : text.Contains("through the fabric.\n", StringComparison.Ordinal);
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
    }
}
