using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Fabric.Gateway.Node;

/// <summary>
/// Writes metrics in the Prometheus text exposition format 0.0.4, following OpenTelemetry's Prometheus compatibility
/// rules: names with every character outside <c>[a-zA-Z0-9_:]</c> turned into <c>_</c>, the unit as a suffix
/// (<c>By</c> → <c>_bytes</c>, <c>s</c> → <c>_seconds</c>; annotations such as <c>{request}</c> are dropped),
/// monotonic sums as counters ending in <c>_total</c>, other sums and gauges as gauges, histograms as cumulative
/// <c>_bucket</c> series with <c>le</c>, plus <c>_sum</c> and <c>_count</c>. Attribute names are sanitized the same
/// way; label values and help text are escaped.
/// </summary>
internal static class PrometheusText
{
    /// <summary>The content type of a scrape's answer.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Appends every metric of <paramref name="batch"/>.</summary>
    public static void Write(StringBuilder text, in Batch<Metric> batch)
    {
        foreach (Metric metric in batch)
        {
            Write(text, metric);
        }
    }

    /// <summary>Appends one metric: its HELP and TYPE lines, then one line per point (several for a histogram).</summary>
    public static void Write(StringBuilder text, Metric metric)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(metric);
        string? type = metric.MetricType switch
        {
            MetricType.LongSum or MetricType.DoubleSum => "counter",
            MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic or MetricType.LongGauge or MetricType.DoubleGauge => "gauge",
            MetricType.Histogram => "histogram",
            _ => null, // exponential histograms: not configured here, and no 0.0.4 form
        };
        if (type is null)
        {
            return;
        }

        string name = MetricName(metric.Name, metric.Unit, type == "counter");
        text.Append("# HELP ").Append(name).Append(' ');
        AppendEscaped(text, string.IsNullOrEmpty(metric.Description) ? metric.Name : metric.Description, escapeQuotes: false);
        text.Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

        foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
        {
            switch (metric.MetricType)
            {
                case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                    Sample(text, name, "", point.Tags, null, Number(point.GetSumLong()));
                    break;
                case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                    Sample(text, name, "", point.Tags, null, Number(point.GetSumDouble()));
                    break;
                case MetricType.LongGauge:
                    Sample(text, name, "", point.Tags, null, Number(point.GetGaugeLastValueLong()));
                    break;
                case MetricType.DoubleGauge:
                    Sample(text, name, "", point.Tags, null, Number(point.GetGaugeLastValueDouble()));
                    break;
                case MetricType.Histogram:
                    long cumulative = 0;
                    foreach (HistogramBucket bucket in point.GetHistogramBuckets())
                    {
                        cumulative += bucket.BucketCount;
                        Sample(text, name, "_bucket", point.Tags, Number(bucket.ExplicitBound), Number(cumulative));
                    }

                    Sample(text, name, "_sum", point.Tags, null, Number(point.GetHistogramSum()));
                    Sample(text, name, "_count", point.Tags, null, Number(point.GetHistogramCount()));
                    break;
            }
        }
    }

    /// <summary>The Prometheus name of an instrument: sanitized, with its unit and, for counters, <c>_total</c>.</summary>
    public static string MetricName(string instrument, string? unit, bool counter)
    {
        var name = new StringBuilder(Sanitize(instrument));
        string suffix = UnitSuffix(unit);
        if (suffix.Length > 0 && !name.ToString().EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name.Append('_').Append(suffix);
        }

        if (counter && !name.ToString().EndsWith("_total", StringComparison.Ordinal))
        {
            name.Append("_total");
        }

        return name.ToString();
    }

    /// <summary>The unit as a name suffix: UCUM units the gateway uses spelled out, annotations (<c>{request}</c>) dropped.</summary>
    public static string UnitSuffix(string? unit)
    {
        if (string.IsNullOrEmpty(unit) || unit.StartsWith('{'))
        {
            return "";
        }

        return unit switch
        {
            "By" => "bytes",
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "ns" => "nanoseconds",
            "1" => "ratio",
            "%" => "percent",
            _ => Sanitize(unit).Trim('_'),
        };
    }

    /// <summary>Replaces every character outside <c>[a-zA-Z0-9_:]</c> with <c>_</c>, and prefixes a leading digit.</summary>
    public static string Sanitize(string name)
    {
        var result = new StringBuilder(name.Length + 1);
        foreach (char c in name)
        {
            result.Append(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or ':' ? c : '_');
        }

        if (result.Length == 0 || char.IsAsciiDigit(result[0]))
        {
            result.Insert(0, '_');
        }

        return result.ToString();
    }

    /// <summary>A sample value: integers as written, doubles round-trippable, infinities and NaN as Prometheus spells them.</summary>
    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>An integer sample value.</summary>
    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Sample(StringBuilder text, string name, string suffix, ReadOnlyTagCollection tags, string? le, string value)
    {
        text.Append(name).Append(suffix);
        bool any = false;
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            text.Append(any ? ',' : '{');
            any = true;
            string label = Sanitize(tag.Key);
            text.Append(label.StartsWith("__", StringComparison.Ordinal) ? "_" + label.TrimStart('_') : label).Append("=\"");
            AppendEscaped(text, Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? "", escapeQuotes: true);
            text.Append('"');
        }

        if (le is not null)
        {
            text.Append(any ? ',' : '{').Append("le=\"").Append(le).Append('"');
            any = true;
        }

        if (any)
        {
            text.Append('}');
        }

        text.Append(' ').Append(value).Append('\n');
    }

    private static void AppendEscaped(StringBuilder text, string value, bool escapeQuotes)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\':
                    text.Append(@"\\");
                    break;
                case '\n':
                    text.Append(@"\n");
                    break;
                case '"' when escapeQuotes:
                    text.Append("\\\"");
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }
    }
}
