namespace Fabric.Gateway.Configuration;

/// <summary>The <c>Fabric</c> configuration section, bound as written; <see cref="FabricSectionReader"/> validates it.</summary>
public sealed class FabricSection
{
    /// <summary>Section name.</summary>
    public const string Name = "Fabric";

    /// <summary>Node name in logs.</summary>
    public string NodeName { get; set; } = "node";

    /// <summary>host:port links are accepted on; empty for a node that only dials.</summary>
    public string Listen { get; set; } = "127.0.0.1:7400";

    /// <summary>Where generated keys are kept; default <c>$XDG_DATA_HOME/fabric-gateway</c> or <c>~/.local/share/fabric-gateway</c>.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>This node's keys.</summary>
    public IdentitySection Identity { get; set; } = new();

    /// <summary>Whom this node accepts.</summary>
    public TrustSection Trust { get; set; } = new();

    /// <summary>Peers to dial.</summary>
    public List<PeerSection> Peers { get; set; } = [];

    /// <summary>Optional fabric pre-shared key, base64 of 32 bytes.</summary>
    public string PreSharedKey { get; set; } = "";

    /// <summary>Optional file holding the base64 pre-shared key (preferred over putting it in configuration).</summary>
    public string PreSharedKeyFile { get; set; } = "";

    /// <summary>Plain TCP links without authentication or encryption: tests only; a warning is logged at every start.</summary>
    public bool Plaintext { get; set; }

    /// <summary>
    /// Roles announced: entry, relay, exit, service-host (only relays forward streams for others); empty for all four.
    /// (Not pre-filled: the configuration binder appends to a list's initial items, so configured roles could never
    /// leave one out.)
    /// </summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>Service replicas hosted on this node.</summary>
    public List<ServiceSection> Services { get; set; } = [];

    /// <summary>How streams to services are routed.</summary>
    public RoutingSection Routing { get; set; } = new();

    /// <summary>Who may open streams to this node's services (reloaded when the configuration changes).</summary>
    public AccessSection Access { get; set; } = new();

    /// <summary>Service directory settings.</summary>
    public DirectorySection Directory { get; set; } = new();

    /// <summary>Session timers and limits of every link.</summary>
    public SessionSection Session { get; set; } = new();
}

/// <summary>One entry of <c>Fabric:Services</c>: a replica hosted here.</summary>
public sealed class ServiceSection
{
    /// <summary>Service name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Instance name, unique on this node (default: the node name).</summary>
    public string Instance { get; set; } = "";

    /// <summary>Subprotocols it is reached with: names (fabric.echo, http, grpc, mqtt, smtp) or ids (0x2201).</summary>
    public List<string> Subprotocols { get; set; } = [];

    /// <summary>Weight for the Weighted policy.</summary>
    public int Weight { get; set; } = 100;

    /// <summary>Tier for the PriorityFailover policy (lower first).</summary>
    public int Priority { get; set; }
}

/// <summary><c>Fabric:Routing</c>.</summary>
public sealed class RoutingSection
{
    /// <summary>Nearest, LeastLoaded, Weighted or PriorityFailover.</summary>
    public string Policy { get; set; } = "Nearest";

    /// <summary>Replicas tried for one stream.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Seconds a replica that failed an open is skipped.</summary>
    public double EjectionSeconds { get; set; } = 10;

    /// <summary>Serve this node's own replicas in process (true), or over its link to itself (false).</summary>
    public bool ServeLocalInProcess { get; set; } = true;

    /// <summary>Seconds a stopping node announces its replicas as draining before it sends GOAWAY; 0 for none.</summary>
    public double DrainNoticeSeconds { get; set; } = 1;
}

/// <summary><c>Fabric:Access</c>.</summary>
public sealed class AccessSection
{
    /// <summary>Allow or Deny when no rule matches.</summary>
    public string Default { get; set; } = "Allow";

    /// <summary>Rules; the longest matching source prefix wins, Deny on a tie.</summary>
    public List<AccessRuleSection> Rules { get; set; } = [];
}

/// <summary>
/// One access rule. Lists left out mean <c>*</c>; they are not pre-filled with it, since the configuration binder
/// appends configured items to initial ones (a rule for one service would then cover every service).
/// </summary>
public sealed class AccessRuleSection
{
    /// <summary>Service names or *; empty for *.</summary>
    public List<string> Services { get; set; } = [];

    /// <summary>Node ids (64 hex digits) or *; empty for *.</summary>
    public List<string> Nodes { get; set; } = [];

    /// <summary>Client networks (CIDR) or *; empty for *.</summary>
    public List<string> Sources { get; set; } = [];

    /// <summary>Allow or Deny.</summary>
    public string Action { get; set; } = "Allow";
}

/// <summary><c>Fabric:Session</c>.</summary>
public sealed class SessionSection
{
    /// <summary>How long a stopping node (or a GOAWAY) waits for open streams to finish before resetting them.</summary>
    public double DrainTimeoutSeconds { get; set; } = 30;

    /// <summary>Interval between keep-alive PINGs on an otherwise quiet link.</summary>
    public double PingIntervalSeconds { get; set; } = 1;

    /// <summary>A link whose PING gets no PONG within this time is declared dead (failover starts).</summary>
    public double PingTimeoutSeconds { get; set; } = 5;

    /// <summary>A link on which nothing at all arrives for this long is closed; 0 disables.</summary>
    public double IdleTimeoutSeconds { get; set; } = 30;

    /// <summary>Streams the peer may have open at once on one link.</summary>
    public int MaxConcurrentStreams { get; set; } = 4096;
}

/// <summary><c>Fabric:Directory</c>.</summary>
public sealed class DirectorySection
{
    /// <summary>TTL of this node's announcements (re-announced every third of it).</summary>
    public double AnnouncementTtlSeconds { get; set; } = 30;

    /// <summary>When not empty, announcements of other services are ignored and counted.</summary>
    public List<string> KnownServices { get; set; } = [];
}

/// <summary><c>Fabric:Identity</c>.</summary>
public sealed class IdentitySection
{
    /// <summary>PKCS#8 PEM private key (mode 0600); generated on first start when missing. Default: DataDirectory/NodeName.key.</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>Older keys still answered during a key rotation.</summary>
    public List<string> PreviousKeyFiles { get; set; } = [];

    /// <summary>This node's certificate from a fabric CA (binary file made by <c>gateway ca issue</c>), if any.</summary>
    public string CertificateFile { get; set; } = "";
}

/// <summary><c>Fabric:Trust</c>.</summary>
public sealed class TrustSection
{
    /// <summary>Public keys (base64) of nodes accepted as they are.</summary>
    public List<string> PinnedKeys { get; set; } = [];

    /// <summary>Public keys (base64) of fabric CAs whose certificates are accepted.</summary>
    public List<string> Authorities { get; set; } = [];

    /// <summary>Node ids (64 hex digits) refused even if pinned or certified.</summary>
    public List<string> RevokedNodes { get; set; } = [];

    /// <summary>Certificate serials refused.</summary>
    public List<ulong> RevokedSerials { get; set; } = [];
}

/// <summary>One entry of <c>Fabric:Peers</c>.</summary>
public sealed class PeerSection
{
    /// <summary>host:port of the peer.</summary>
    public string Address { get; set; } = "";

    /// <summary>The peer's public key (base64), or <c>self</c> for this node's own key (a node linked to itself).</summary>
    public string PublicKey { get; set; } = "";
}
