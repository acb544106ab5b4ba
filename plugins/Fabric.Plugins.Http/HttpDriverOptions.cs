namespace Fabric.Plugins.Http;

/// <summary><c>Plugins:Settings:http</c>: where the proxy listens, and the backends this node serves as egress.</summary>
public sealed class HttpDriverOptions
{
    /// <summary>
    /// Addresses the reverse proxy listens on; empty for an egress-only node. <c>host:port</c> speaks HTTP/1.1,
    /// <c>h2c://host:port</c> HTTP/2 with prior knowledge, <c>https://host:port</c> TLS with HTTP/1.1 and HTTP/2 (ALPN),
    /// which needs <see cref="CertificatePath"/>. A blank entry is ignored, so that the command line or the
    /// environment can remove a listener the configuration file lists (<c>--Plugins:Settings:http:Listen:0=</c>).
    /// </summary>
    public List<string> Listen { get; set; } = [];

    /// <summary>PEM certificate (chain) for https listeners.</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>PEM private key for https listeners.</summary>
    public string CertificateKeyPath { get; set; } = "";

    /// <summary>
    /// Services hosted here: requests arriving over the fabric for them go to their backend. An entry with neither
    /// Name nor Backend is ignored (as a blank Listen entry is).
    /// </summary>
    public List<HttpBackendOptions> Services { get; set; } = [];

    /// <summary>Retries on another replica for a request that failed before any response (see docs/PLUGINS.md).</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Seconds to connect to a backend.</summary>
    public double BackendConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>Seconds between TCP probes of each backend (its replica is marked unhealthy while it refuses).</summary>
    public double BackendProbeSeconds { get; set; } = 5;

    /// <summary>
    /// Seconds an idle pooled connection to a replica (a fabric stream) is kept. Short, so that a node that stops
    /// serving is let go soon: its drain waits for the streams other nodes hold open.
    /// </summary>
    public double PooledConnectionIdleSeconds { get; set; } = 5;

    /// <summary>Client connections all of the proxy's listeners hold at once; more are closed as they are accepted.</summary>
    public int MaxConnections { get; set; } = 10_000;
}

/// <summary>One service this node serves as egress.</summary>
public sealed class HttpBackendOptions
{
    /// <summary>Service name (what ingress destinations call fabric://name).</summary>
    public string Name { get; set; } = "";

    /// <summary>Instance name; the node name by default.</summary>
    public string Instance { get; set; } = "";

    /// <summary>The backend: http://host:port or https://host:port.</summary>
    public string Backend { get; set; } = "";

    /// <summary>For https backends: accept a certificate that does not validate (self-signed test backends only).</summary>
    public bool AcceptAnyCertificate { get; set; }

    /// <summary>Weight for weighted routing.</summary>
    public int Weight { get; set; } = 100;

    /// <summary>Priority tier for failover routing.</summary>
    public int Priority { get; set; }
}
