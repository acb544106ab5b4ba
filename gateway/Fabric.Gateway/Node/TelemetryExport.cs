using Fabric.Gateway.Configuration;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Fabric.Gateway.Node;

/// <summary>
/// The gateway's meters (<c>Fabric.*</c>, ASP.NET Core's hosting and Kestrel meters) for readers outside the process:
/// a Prometheus scrape on the admin API's <c>/metrics</c> (on unless <c>Telemetry:Prometheus</c> is false) and an
/// OTLP/HTTP export when an endpoint is configured. The meters exist regardless; dotnet-counters reads them without
/// any of this.
/// </summary>
internal static class TelemetryExport
{
    /// <summary>The meters exported.</summary>
    public static readonly string[] Meters = ["Fabric.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel"];

    /// <summary>
    /// Bucket bounds, in seconds, of every histogram measured in seconds: from 100 µs (a fabric RTT on a LAN) to
    /// 30 s (a long call). OpenTelemetry's default bounds (0 to 10,000) suit milliseconds and would put every
    /// latency in the first two buckets.
    /// </summary>
    public static readonly double[] SecondsBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Starts what <paramref name="options"/> asks for; null when it asks for nothing.</summary>
    public static (MeterProvider? Provider, PrometheusScrape? Scrape) Start(TelemetrySection options)
    {
        Uri? endpoint = null;
        if (!string.IsNullOrWhiteSpace(options.OtlpEndpoint))
        {
            if (!Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https"))
            {
                throw new ConfigurationException($"{TelemetrySection.Name}:OtlpEndpoint", $"'{options.OtlpEndpoint}' is not an http(s) URL such as http://127.0.0.1:4318");
            }

            if (double.IsNaN(options.ExportIntervalSeconds) || options.ExportIntervalSeconds is < 0.1 or > 3600)
            {
                throw new ConfigurationException($"{TelemetrySection.Name}:ExportIntervalSeconds", "must be 0.1..3600");
            }
        }

        PrometheusScrape? scrape = options.Prometheus ? new PrometheusScrape() : null;
        if (endpoint is null && scrape is null)
        {
            return (null, null);
        }

        MeterProviderBuilder builder = Configure(Sdk.CreateMeterProviderBuilder(), Meters);
        if (scrape is not null)
        {
            builder.AddReader(scrape.Reader);
        }

        if (endpoint is not null)
        {
            builder.AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = new Uri(endpoint, "v1/metrics");
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)(options.ExportIntervalSeconds * 1000);
            });
        }

        return (builder.Build(), scrape);
    }

    /// <summary>Adds <paramref name="meters"/> and the histogram bounds for seconds to <paramref name="builder"/>.</summary>
    public static MeterProviderBuilder Configure(MeterProviderBuilder builder, params string[] meters) => builder
        .AddMeter(meters)
        .AddView(instrument => instrument.Unit == "s" && instrument.GetType().Name.StartsWith("Histogram", StringComparison.Ordinal)
            ? new ExplicitBucketHistogramConfiguration { Boundaries = SecondsBuckets }
            : null);
}
