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

    /// <summary>Record ciphers and handshake limits of every secure link.</summary>
    public SecuritySection Security { get; set; } = new();

    /// <summary>Socket tuning of every link.</summary>
    public TcpSection Tcp { get; set; } = new();
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

    /// <summary>Largest DATA payload this side accepts and sends, bytes (1024..65535; the smaller of the two sides' values is used).</summary>
    public int MaxFramePayload { get; set; } = 16 * 1024;

    /// <summary>Receive window a stream starts with, bytes.</summary>
    public int InitialStreamWindow { get; set; } = 256 * 1024;

    /// <summary>Largest receive window a stream auto-tunes to (from the measured RTT), bytes.</summary>
    public int MaxStreamWindow { get; set; } = 16 * 1024 * 1024;

    /// <summary>Memory budget of one link for received data the applications have not read yet, bytes.</summary>
    public int SessionWindow { get; set; } = 64 * 1024 * 1024;

    /// <summary>Bytes a stream buffers for sending before its writer waits.</summary>
    public int StreamSendBufferSize { get; set; } = 256 * 1024;

    /// <summary>Incoming streams waiting to be accepted; beyond it opens are refused.</summary>
    public int AcceptBacklog { get; set; } = 1024;

    /// <summary>Bytes of frames the writer packs before one flush (one record on a secure link).</summary>
    public int FlushThreshold { get; set; } = 64 * 1024;

    /// <summary>Outbound control frames allowed to queue before a peer that does not read is dropped.</summary>
    public int MaxPendingControlFrames { get; set; } = 8192;

    /// <summary>Time for the peer's HELLO to arrive after the link is up.</summary>
    public double HelloTimeoutSeconds { get; set; } = 10;

    /// <summary>Per-second caps on cheap frames a peer could flood with (exceeding one ends the link with ENHANCE_YOUR_CALM).</summary>
    public FloodSection Flood { get; set; } = new();
}

/// <summary><c>Fabric:Session:Flood</c>.</summary>
public sealed class FloodSection
{
    /// <summary>PING frames per second.</summary>
    public int MaxPingsPerSecond { get; set; } = 100;

    /// <summary>RESET_STREAM frames per second (rapid-reset guard).</summary>
    public int MaxResetsPerSecond { get; set; } = 2000;

    /// <summary>Zero-length DATA frames per second.</summary>
    public int MaxEmptyDataPerSecond { get; set; } = 100;

    /// <summary>Stream opens this side had to refuse, per second.</summary>
    public int MaxRefusedOpensPerSecond { get; set; } = 1000;

    /// <summary>All non-DATA frames per second.</summary>
    public int MaxControlFramesPerSecond { get; set; } = 100_000;
}

/// <summary><c>Fabric:Security</c>: record ciphers and the limits that protect a responder.</summary>
public sealed class SecuritySection
{
    /// <summary>
    /// Record ciphers in order of preference (ChaCha20Poly1305, Aes256Gcm); a responder picks its first one the
    /// initiator offers. Empty for both, ChaCha20-Poly1305 first. (Not pre-filled: the binder appends to initial items.)
    /// </summary>
    public List<string> CipherSuites { get; set; } = [];

    /// <summary>Time for a whole handshake.</summary>
    public double HandshakeTimeoutSeconds { get; set; } = 5;

    /// <summary>Records a link may refuse (bad tag, replay, stale key) before it is torn down.</summary>
    public int MaxRejectedRecords { get; set; } = 8;

    /// <summary>Sustained handshakes accepted per second from one source address.</summary>
    public double HandshakesPerSecondPerSource { get; set; } = 20;

    /// <summary>Burst of handshakes accepted from one source address.</summary>
    public int HandshakeBurstPerSource { get; set; } = 40;
}

/// <summary><c>Fabric:Tcp</c>: socket tuning of every link.</summary>
public sealed class TcpSection
{
    /// <summary>SO_SNDBUF, bytes; 0 for the kernel's default.</summary>
    public int SendBufferSize { get; set; } = 256 * 1024;

    /// <summary>SO_RCVBUF, bytes; 0 for the kernel's default.</summary>
    public int ReceiveBufferSize { get; set; } = 256 * 1024;

    /// <summary>TCP_NOTSENT_LOWAT, bytes: how much unsent data the kernel may hold (small keeps priorities honest); 0 leaves it unset.</summary>
    public int NotSentLowWatermark { get; set; } = 16 * 1024;

    /// <summary>Time allowed for a TCP connect to a peer.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;
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
