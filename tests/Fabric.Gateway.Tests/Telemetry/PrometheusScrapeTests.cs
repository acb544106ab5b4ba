using System.Globalization;
using System.Text.Json;
using Fabric.Gateway.Tests.Http;
using Fabric.Gateway.Tests.Processes;
using Xunit.Abstractions;

namespace Fabric.Gateway.Tests.Telemetry;

/// <summary>
/// The admin API's GET /metrics in a gateway process, read by Prometheus itself: promtool accepts the exposition,
/// and a Prometheus server (loopback only, its own temporary storage) scrapes the gateway and answers queries with the
/// counts the test caused.
/// </summary>
[Collection(HttpProcessesCollection.Name)]
public sealed class PrometheusScrapeTests(ITestOutputHelper log) : IAsyncLifetime
{
    private readonly SelfLinkedGateways _gateways = new();

    public Task InitializeAsync() => _gateways.InitializeAsync();

    public Task DisposeAsync() => _gateways.DisposeAsync();

    [Fact]
    public async Task Metrics_AfterProxiedRequests_PromtoolAccepts_PrometheusScrapesTheExactCounts()
    {
        int proxy = GatewayProcess.FreePort();
        HttpGateway gateway = _gateways.StartSelfLinked("metrics", SelfLinkedGateways.ProxyToSampleBackend(proxy));
        using HttpClient http = HttpTopology.NewClient(TimeSpan.FromSeconds(10));
        int ok = 0;
        await _gateways.WaitUntilAsync(
            async () =>
            {
                using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{proxy}/"));
                return response.IsSuccessStatusCode;
            },
            "GET / through the proxy",
            HttpTopology.Startup);
        ok++;
        for (int i = 0; i < 7; i++)
        {
            using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{proxy}/"));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            ok++;
        }

        // The exposition itself.
        using HttpResponseMessage scrape = await http.GetAsync(new Uri($"http://127.0.0.1:{gateway.AdminPort}/metrics"));
        string text = await scrape.Content.ReadAsStringAsync();
        Assert.Equal(System.Net.HttpStatusCode.OK, scrape.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", scrape.Content.Headers.ContentType?.ToString());
        (int lint, string lintOutput) = await PrometheusPeers.CheckMetricsAsync(text);
        Assert.True(lint == 0, $"promtool check metrics exit {lint}:\n{lintOutput}");
        Assert.Equal(ok, Sample(text, "fabric_http_requests_total{fabric_cluster=\"web\",http_response_status_code=\"200\"}"));
        int links = (await gateway.GetJsonAsync("/links")).GetArrayLength();
        Assert.Equal(links, Sample(text, "fabric_link_active"));
        Assert.True(Sample(text, "fabric_link_handshakes_total") >= 1, "no handshake counted");
        Assert.Contains("# TYPE fabric_http_request_duration_seconds histogram", text, StringComparison.Ordinal);

        // A Prometheus server scrapes it and answers with the same count.
        int port = GatewayProcess.FreePort();
        string config = _gateways.Temp.File("prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: fabric
                static_configs:
                  - targets: ["127.0.0.1:{gateway.AdminPort}"]
            """);
        using ChildProcess prometheus = ChildProcess.Start(
            "prometheus",
            PrometheusPeers.Server,
            [
                $"--config.file={config}",
                $"--storage.tsdb.path={_gateways.Temp.File("tsdb")}",
                $"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            _gateways.Temp.Path);
        try
        {
            string query = Uri.EscapeDataString("fabric_http_requests_total{job=\"fabric\",fabric_cluster=\"web\",http_response_status_code=\"200\"}");
            string? value = null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (value != ok.ToString(CultureInfo.InvariantCulture))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"Prometheus did not report {ok} (last: {value ?? "nothing"}):\n{prometheus.Tail()}");
                Assert.False(prometheus.HasExited, $"Prometheus exited:\n{prometheus.Tail()}");
                await Task.Delay(250);
                try
                {
                    using JsonDocument answer = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/v1/query?query={query}")));
                    JsonElement result = answer.RootElement.GetProperty("data").GetProperty("result");
                    value = result.GetArrayLength() == 1 ? result[0].GetProperty("value")[1].GetString() : null;
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
            }

            log.WriteLine($"Prometheus reported {value} requests {clock.Elapsed.TotalSeconds:F1} s after it started");
            // Its own view of the target: scraped successfully (a single slow scrape under load may fail; the best one counts).
            string upQuery = Uri.EscapeDataString("max_over_time(up{job=\"fabric\"}[5m])");
            using JsonDocument up = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/v1/query?query={upQuery}")));
            Assert.Equal("1", up.RootElement.GetProperty("data").GetProperty("result")[0].GetProperty("value")[1].GetString());
        }
        finally
        {
            prometheus.Kill();
        }
    }

    [Fact]
    public async Task PrometheusOff_MetricsAnswers404SayingWhy()
    {
        HttpGateway gateway = _gateways.StartSelfLinked("no-metrics", [("Telemetry:Prometheus", "false")]);
        using HttpClient http = HttpTopology.NewClient(TimeSpan.FromSeconds(10));
        await _gateways.WaitUntilAsync(
            async () => (await http.GetAsync(new Uri($"http://127.0.0.1:{gateway.AdminPort}/healthz"))).IsSuccessStatusCode,
            "the admin API",
            HttpTopology.Startup);

        using HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{gateway.AdminPort}/metrics"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Telemetry:Prometheus is false", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>The value of the sample line that starts with <paramref name="series"/> followed by a space.</summary>
    private static double Sample(string text, string series)
    {
        string? line = text.Split('\n').SingleOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        Assert.True(line is not null, $"no sample {series} in:\n{text}");
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
