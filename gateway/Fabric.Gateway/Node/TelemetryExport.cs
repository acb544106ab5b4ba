using Fabric.Gateway.Configuration;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;

namespace Fabric.Gateway.Node;

/// <summary>
/// Exports the gateway's meters (<c>Fabric.*</c>, ASP.NET Core's Kestrel and routing meters) over OTLP/HTTP when an
/// endpoint is configured. The meters exist regardless; dotnet-counters reads them without any of this.
/// </summary>
internal static class TelemetryExport
{
    public static MeterProvider? Start(TelemetrySection options)
    {
        if (string.IsNullOrWhiteSpace(options.OtlpEndpoint))
        {
            return null;
        }

        if (!Uri.TryCreate(options.OtlpEndpoint, UriKind.Absolute, out Uri? endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw new ConfigurationException($"{TelemetrySection.Name}:OtlpEndpoint", $"'{options.OtlpEndpoint}' is not an http(s) URL such as http://127.0.0.1:4318");
        }

        if (options.ExportIntervalSeconds is < 0.1 or > 3600)
        {
            throw new ConfigurationException($"{TelemetrySection.Name}:ExportIntervalSeconds", "must be 0.1..3600");
        }

        return Sdk.CreateMeterProviderBuilder()
            .AddMeter("Fabric.*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel")
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = new Uri(endpoint, "v1/metrics");
                exporter.Protocol = OtlpExportProtocol.HttpProtobuf;
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)(options.ExportIntervalSeconds * 1000);
            })
            .Build();
    }
}
