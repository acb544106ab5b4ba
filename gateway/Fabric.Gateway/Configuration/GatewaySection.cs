namespace Fabric.Gateway.Configuration;

/// <summary>The <c>Gateway</c> section: the host's own listeners.</summary>
public sealed class GatewaySection
{
    /// <summary>Section name.</summary>
    public const string Name = "Gateway";

    /// <summary>A JSON file used instead of appsettings.json (environment variables and the command line still override it).</summary>
    public string ConfigFile { get; set; } = "";

    /// <summary>Address of the admin API (links, directory, services, plugins, health); loopback by default.</summary>
    public string AdminListen { get; set; } = "127.0.0.1:8081";

    /// <summary>Address of the built-in sample backend (HTTP/1.1); empty to run without it.</summary>
    public string SampleBackendListen { get; set; } = "";

    /// <summary>Address of the sample backend speaking HTTP/2 with prior knowledge (h2c); empty for none.</summary>
    public string SampleBackendListenH2c { get; set; } = "";

    /// <summary>On SIGTERM, seconds to keep serving with <c>/readyz</c> answering 503 before anything stops (0: none).</summary>
    public double ShutdownDelaySeconds { get; set; }

    /// <summary>Limits on what HTTP clients of every listener of the host (drivers' listeners included) may send.</summary>
    public GatewayLimitsSection Limits { get; set; } = new();
}

/// <summary><c>Gateway:Limits</c>: Kestrel's server-wide limits, with Kestrel's defaults.</summary>
public sealed class GatewayLimitsSection
{
    /// <summary>Time a client has to send a request's headers (slow-header clients are cut off with 408).</summary>
    public double RequestHeadersTimeoutSeconds { get; set; } = 30;

    /// <summary>An idle keep-alive connection is closed after this time.</summary>
    public double KeepAliveTimeoutSeconds { get; set; } = 130;

    /// <summary>Headers in one request; more is refused with 431.</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>Bytes of all headers of one request; more is refused with 431.</summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>Bytes of the request line; more is refused with 414.</summary>
    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>A request body arriving slower than this (after a 5 s grace) is cut off with 408; 0 disables.</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;
}
