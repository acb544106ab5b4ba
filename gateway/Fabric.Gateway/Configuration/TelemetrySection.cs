namespace Fabric.Gateway.Configuration;

/// <summary>The <c>Telemetry</c> section.</summary>
public sealed class TelemetrySection
{
    /// <summary>Section name.</summary>
    public const string Name = "Telemetry";

    /// <summary>OTLP/HTTP endpoint metrics are exported to (e.g. http://127.0.0.1:4318); empty: no export (dotnet-counters still sees the meters).</summary>
    public string OtlpEndpoint { get; set; } = "";

    /// <summary>Seconds between exports.</summary>
    public double ExportIntervalSeconds { get; set; } = 10;

    /// <summary>Serve the meters in the Prometheus text format on the admin API's <c>GET /metrics</c>.</summary>
    public bool Prometheus { get; set; } = true;
}
