namespace Fabric.Gateway.Node;

/// <summary>The admin API's <c>GET /metrics</c>: the Prometheus scrape, or null when <c>Telemetry:Prometheus</c> is false.</summary>
internal sealed record MetricsEndpoint(PrometheusScrape? Scrape)
{
    private static readonly TimeSpan CollectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Answers one scrape.</summary>
    public IResult Answer() => Scrape is null
        ? Results.Text("the Prometheus endpoint is off (Telemetry:Prometheus is false)\n", statusCode: StatusCodes.Status404NotFound)
        : Results.Text(Scrape.Scrape(CollectTimeout), PrometheusText.ContentType);
}
