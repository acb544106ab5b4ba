using System.Diagnostics.Metrics;
using Fabric.Gateway.Node;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Fabric.Gateway.Tests.Telemetry;

/// <summary>
/// The Prometheus text the admin API's /metrics serves: names, units, types, labels and histograms as the exposition
/// format and OpenTelemetry's Prometheus rules want them, checked byte for byte and by Prometheus's own linter.
/// </summary>
public sealed class PrometheusTextTests : IDisposable
{
    private readonly string _meterName = $"Fabric.Test.Prometheus.{Guid.NewGuid():N}";
    private readonly Meter _meter;
    private readonly PrometheusScrape _scrape = new();
    private readonly MeterProvider _provider;

    public PrometheusTextTests()
    {
        _meter = new Meter(_meterName);
        _provider = TelemetryExport.Configure(Sdk.CreateMeterProviderBuilder(), _meterName).AddReader(_scrape.Reader).Build();
    }

    public void Dispose()
    {
        _provider.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public async Task Counter_TotalSuffix_UnitAnnotationDropped_LabelsSanitizedAndEscaped()
    {
        Counter<long> requests = _meter.CreateCounter<long>("fabric.test.requests", "{request}", "Requests \\ answered\nby the test.");
        requests.Add(3, new KeyValuePair<string, object?>("http.response.status_code", 200), new KeyValuePair<string, object?>("fabric.cluster", "we\"b\\1\nx"));
        requests.Add(2, new KeyValuePair<string, object?>("http.response.status_code", 200), new KeyValuePair<string, object?>("fabric.cluster", "we\"b\\1\nx"));

        string text = _scrape.Scrape(TimeSpan.FromSeconds(10));

        Assert.Equal(
            "# HELP fabric_test_requests_total Requests \\\\ answered\\nby the test.\n" +
            "# TYPE fabric_test_requests_total counter\n" +
            "fabric_test_requests_total{fabric_cluster=\"we\\\"b\\\\1\\nx\",http_response_status_code=\"200\"} 5\n",
            text);
        await AssertPromtoolAcceptsAsync(text);
    }

    [Fact]
    public async Task HistogramInSeconds_CumulativeBucketsWithSecondsBounds_SumAndCount()
    {
        Histogram<double> duration = _meter.CreateHistogram<double>("fabric.test.duration", "s", "Call duration.");
        duration.Record(0.0003);
        duration.Record(0.002);
        duration.Record(0.002);
        duration.Record(45);

        string text = _scrape.Scrape(TimeSpan.FromSeconds(10));

        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("# TYPE fabric_test_duration_seconds histogram", lines[1]);
        var buckets = lines.Where(l => l.StartsWith("fabric_test_duration_seconds_bucket", StringComparison.Ordinal))
            .Select(l => (Le: l.Split('"')[1], Count: long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal([.. TelemetryExport.SecondsBuckets.Select(PrometheusText.Number), "+Inf"], buckets.Select(b => b.Le));
        Assert.Equal(0, buckets.Single(b => b.Le == "0.00025").Count);
        Assert.Equal(1, buckets.Single(b => b.Le == "0.0005").Count);
        Assert.Equal(3, buckets.Single(b => b.Le == "0.0025").Count);
        Assert.Equal(3, buckets.Single(b => b.Le == "30").Count);
        Assert.Equal(4, buckets.Single(b => b.Le == "+Inf").Count);
        Assert.Contains("fabric_test_duration_seconds_sum 45.0043", lines);
        Assert.Contains("fabric_test_duration_seconds_count 4", lines);
        await AssertPromtoolAcceptsAsync(text);
    }

    [Fact]
    public async Task UpDownCounterAndObservableGauge_AreGauges_BytesUnitSpelledOut()
    {
        UpDownCounter<long> links = _meter.CreateUpDownCounter<long>("fabric.test.links", "{link}", "Links up.");
        links.Add(3);
        links.Add(-1);
        _meter.CreateObservableGauge("fabric.test.buffered", () => new Measurement<double>(1.5, new KeyValuePair<string, object?>("fabric.traffic_class", "bulk")), "By", "Bytes buffered.");
        _meter.CreateObservableCounter("fabric.test.sent", () => 42L, "By", "Bytes sent.");

        string text = _scrape.Scrape(TimeSpan.FromSeconds(10));

        Assert.Contains("# TYPE fabric_test_links gauge\nfabric_test_links 2\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE fabric_test_buffered_bytes gauge\nfabric_test_buffered_bytes{fabric_traffic_class=\"bulk\"} 1.5\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE fabric_test_sent_bytes_total counter\nfabric_test_sent_bytes_total 42\n", text, StringComparison.Ordinal);
        await AssertPromtoolAcceptsAsync(text);
    }

    [Theory]
    [InlineData("fabric.session.bytes_sent", "By", true, "fabric_session_bytes_sent_bytes_total")]
    [InlineData("fabric.grpc.call.duration", "s", false, "fabric_grpc_call_duration_seconds")]
    [InlineData("kestrel.connection.duration", "s", false, "kestrel_connection_duration_seconds")]
    [InlineData("fabric.test.wait_seconds", "s", false, "fabric_test_wait_seconds")]
    [InlineData("requests_total", "{request}", true, "requests_total")]
    [InlineData("9lives-and.more", null, false, "_9lives_and_more")]
    [InlineData("ratio", "1", false, "ratio_ratio")]
    public void MetricName_FollowsOpenTelemetryPrometheusRules(string instrument, string? unit, bool counter, string expected) =>
        Assert.Equal(expected, PrometheusText.MetricName(instrument, unit, counter));

    [Fact]
    public void Number_InfinitiesNaNAndRoundTrip()
    {
        Assert.Equal("+Inf", PrometheusText.Number(double.PositiveInfinity));
        Assert.Equal("-Inf", PrometheusText.Number(double.NegativeInfinity));
        Assert.Equal("NaN", PrometheusText.Number(double.NaN));
        Assert.Equal("0.1", PrometheusText.Number(0.1));
        Assert.Equal(1e-7, double.Parse(PrometheusText.Number(1e-7), System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task AssertPromtoolAcceptsAsync(string text)
    {
        (int code, string output) = await PrometheusPeers.CheckMetricsAsync(text);
        Assert.True(code == 0, $"promtool check metrics exit {code}:\n{output}\n--- exposition ---\n{text}");
    }
}
