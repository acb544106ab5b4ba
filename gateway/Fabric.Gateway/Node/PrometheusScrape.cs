using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Fabric.Gateway.Node;

/// <summary>
/// A pull reader for the admin API's <c>GET /metrics</c>: each scrape collects every instrument once (cumulative
/// totals, observable instruments read at that moment) and formats them with <see cref="PrometheusText"/>. Scrapes
/// are serialized; a scrape that comes while another runs waits for it.
/// </summary>
#pragma warning disable CA1001 // the exporter is disposed by its reader, which the meter provider owns and disposes
internal sealed class PrometheusScrape
#pragma warning restore CA1001
{
    private readonly TextExporter _exporter = new();
    private readonly Lock _gate = new();

    public PrometheusScrape()
    {
        Reader = new BaseExportingMetricReader(_exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Cumulative };
    }

    /// <summary>The reader to add to the meter provider.</summary>
    public MetricReader Reader { get; }

    /// <summary>Collects and formats every metric now.</summary>
    public string Scrape(TimeSpan timeout)
    {
        lock (_gate)
        {
            _exporter.Text.Clear();
            if (!Reader.Collect((int)timeout.TotalMilliseconds))
            {
                throw new TimeoutException($"collecting metrics took longer than {timeout.TotalSeconds:0.#} s");
            }

            return _exporter.Text.ToString();
        }
    }

    private sealed class TextExporter : BaseExporter<Metric>
    {
        public StringBuilder Text { get; } = new();

        public override ExportResult Export(in Batch<Metric> batch)
        {
            PrometheusText.Write(Text, batch);
            return ExportResult.Success;
        }
    }
}
