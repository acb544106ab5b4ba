namespace Fabric.Plugins.Grpc;

/// <summary><c>Plugins:Settings:grpc</c>: the gRPC listeners, how gRPC services map to fabric services, and the backends this node serves.</summary>
public sealed class GrpcDriverOptions
{
    /// <summary>
    /// Ingress listeners; empty for an egress-only node. <c>h2c://host:port</c> speaks HTTP/2 with prior knowledge
    /// (gRPC clients), <c>http://host:port</c> HTTP/1.1 (gRPC-Web from browsers), <c>https://host:port</c> TLS with
    /// HTTP/2 and HTTP/1.1 by ALPN (needs <see cref="CertificatePath"/>).
    /// </summary>
    public List<string> Listen { get; set; } = [];

    /// <summary>PEM certificate (chain) for https listeners.</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>PEM private key for https listeners.</summary>
    public string CertificateKeyPath { get; set; } = "";

    /// <summary>
    /// gRPC service → fabric service. Matched in order of precision: an exact service name, then the longest
    /// <c>package.*</c> prefix, then <c>*</c>. A gRPC service with no route goes to the fabric service of the same
    /// name when one exists; otherwise the call gets UNIMPLEMENTED.
    /// </summary>
    public List<GrpcRouteOptions> Routes { get; set; } = [];

    /// <summary>Backends hosted here: calls arriving over the fabric for these services go to them.</summary>
    public List<GrpcBackendOptions> Services { get; set; } = [];

    /// <summary>Largest request message (bytes, after the 5-byte prefix); larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Calls in flight through this ingress at once; more get RESOURCE_EXHAUSTED.</summary>
    public int MaxConcurrentCalls { get; set; } = 10_000;

    /// <summary>Client connections all of the driver's listeners hold at once; more are closed as they are accepted.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>HTTP/2 streams a client may open on one connection (Kestrel's limit is raised to at least this).</summary>
    public int MaxStreamsPerConnection { get; set; } = 1000;

    /// <summary>Deadline for calls that carry no grpc-timeout (seconds); 0 for none.</summary>
    public double DefaultDeadlineSeconds { get; set; }

    /// <summary>Longest deadline a client may ask for (seconds); longer ones are shortened to it; 0 for no cap.</summary>
    public double MaxDeadlineSeconds { get; set; }

    /// <summary>A call whose stream carries nothing either way for this long is cancelled (seconds).</summary>
    public double IdleTimeoutSeconds { get; set; } = 3600;

    /// <summary>Attempts on other replicas when a replica cannot be reached before any of the call was sent.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Seconds a replica that could not be reached is skipped by this ingress.</summary>
    public double EjectSeconds { get; set; } = 5;

    /// <summary>Seconds between grpc.health.v1 checks of each hosted backend; 0 turns checking off.</summary>
    public double HealthCheckSeconds { get; set; } = 1;

    /// <summary>Seconds to connect to a backend.</summary>
    public double BackendConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>Browser origins allowed to make gRPC-Web calls (CORS); <c>*</c> for any. Empty: no CORS headers.</summary>
    public List<string> GrpcWebAllowedOrigins { get; set; } = [];
}

/// <summary>One route.</summary>
public sealed class GrpcRouteOptions
{
    /// <summary>gRPC service (<c>package.Service</c>), <c>package.*</c>, or <c>*</c>.</summary>
    public string Match { get; set; } = "";

    /// <summary>The fabric service its calls go to.</summary>
    public string Service { get; set; } = "";
}

/// <summary>One backend this node serves as egress.</summary>
public sealed class GrpcBackendOptions
{
    /// <summary>Fabric service name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Instance name; the node name by default. Two backends of one service on one node need different instances.</summary>
    public string Instance { get; set; } = "";

    /// <summary>The backend: <c>http://host:port</c> (h2c) or <c>https://host:port</c> (TLS, ALPN h2).</summary>
    public string Backend { get; set; } = "";

    /// <summary>For https backends: accept a certificate that does not validate (self-signed test backends only).</summary>
    public bool AcceptAnyCertificate { get; set; }

    /// <summary>The service name sent in grpc.health.v1 Check ("" asks about the whole server).</summary>
    public string HealthService { get; set; } = "";

    /// <summary>Weight for weighted routing.</summary>
    public int Weight { get; set; } = 100;

    /// <summary>Priority tier for failover routing.</summary>
    public int Priority { get; set; }
}
