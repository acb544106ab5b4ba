using System.Globalization;
using System.Net;
using Fabric.Core.Discovery;
using Fabric.Core.Links;
using Fabric.Core.Nodes;
using Fabric.Core.Policy;
using Fabric.Core.Routing;
using Fabric.Core.Sessions;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;

namespace Fabric.Gateway.Configuration;

/// <summary>What the <c>Fabric</c> section turns into once validated.</summary>
public sealed record FabricSettings(NodeIdentity Identity, IReadOnlyList<NodeIdentity> PreviousIdentities, FabricTrust Trust, FabricNodeOptions Node, IReadOnlyList<ServiceReplica> Services);

/// <summary>Validates the <c>Fabric</c> section and loads keys; every error names its configuration key.</summary>
public static class FabricSectionReader
{
    /// <summary>Reads and validates <paramref name="section"/>; generates the node key if its file is missing.</summary>
    public static FabricSettings Read(FabricSection section, string sectionPath = FabricSection.Name)
    {
        ArgumentNullException.ThrowIfNull(section);
        string Key(string name) => $"{sectionPath}:{name}";

        if (string.IsNullOrWhiteSpace(section.NodeName) || section.NodeName.Length > 64)
        {
            throw new ConfigurationException(Key("NodeName"), "must be 1..64 characters");
        }

        IPEndPoint? listen = string.IsNullOrWhiteSpace(section.Listen) ? null : ParseEndPoint(Key("Listen"), section.Listen);
        string dataDirectory = string.IsNullOrWhiteSpace(section.DataDirectory) ? DefaultDataDirectory() : section.DataDirectory;
        string keyFile = string.IsNullOrWhiteSpace(section.Identity.KeyFile) ? Path.Combine(dataDirectory, section.NodeName + ".key") : section.Identity.KeyFile;
        NodeIdentity identity = LoadIdentity(Key("Identity:KeyFile"), keyFile, create: true);
        var previous = new List<NodeIdentity>();
        for (int i = 0; i < section.Identity.PreviousKeyFiles.Count; i++)
        {
            previous.Add(LoadIdentity(Key($"Identity:PreviousKeyFiles:{i}"), section.Identity.PreviousKeyFiles[i], create: false));
        }

        byte[]? certificate = null;
        if (!string.IsNullOrWhiteSpace(section.Identity.CertificateFile))
        {
            certificate = ReadCertificate(Key("Identity:CertificateFile"), section.Identity.CertificateFile, identity);
        }

        var pinned = section.Trust.PinnedKeys.Select((k, i) => ParseKey(Key($"Trust:PinnedKeys:{i}"), k)).ToList();
        var authorities = section.Trust.Authorities.Select((k, i) => ParseKey(Key($"Trust:Authorities:{i}"), k)).ToList();
        var revoked = section.Trust.RevokedNodes.Select((id, i) =>
        {
            try
            {
                return NodeId.Parse(id);
            }
            catch (FormatException ex)
            {
                throw new ConfigurationException(Key($"Trust:RevokedNodes:{i}"), ex.Message);
            }
        }).ToList();
        var trust = new FabricTrust(pinned, authorities, revoked, section.Trust.RevokedSerials);

        var peers = new List<PeerEndpoint>();
        for (int i = 0; i < section.Peers.Count; i++)
        {
            PeerSection peer = section.Peers[i];
            IPEndPoint address = ParseEndPoint(Key($"Peers:{i}:Address"), peer.Address);
            byte[]? publicKey = null;
            if (string.Equals(peer.PublicKey, "self", StringComparison.OrdinalIgnoreCase))
            {
                publicKey = identity.PublicKey;
            }
            else if (!string.IsNullOrWhiteSpace(peer.PublicKey))
            {
                publicKey = ParseKey(Key($"Peers:{i}:PublicKey"), peer.PublicKey);
            }
            else if (!section.Plaintext)
            {
                throw new ConfigurationException(Key($"Peers:{i}:PublicKey"), "is required: the base64 public key the peer must prove (printed by 'gateway keygen'), or 'self'");
            }

            peers.Add(new PeerEndpoint(address, publicKey));
        }

        byte[]? psk = ReadPreSharedKey(section, Key);
        string[] knownRoles = ["entry", "relay", "exit", "service-host"];
        for (int i = 0; i < section.Roles.Count; i++)
        {
            if (!knownRoles.Contains(section.Roles[i]))
            {
                throw new ConfigurationException(Key($"Roles:{i}"), $"'{section.Roles[i]}' is not a role; use {string.Join(", ", knownRoles)}");
            }
        }

        if (!Enum.TryParse(section.Routing.Policy, ignoreCase: true, out RoutingPolicy policy) || !Enum.IsDefined(policy))
        {
            throw new ConfigurationException(Key("Routing:Policy"), $"'{section.Routing.Policy}' is not Nearest, LeastLoaded, Weighted or PriorityFailover");
        }

        if (section.Routing.MaxAttempts is < 1 or > 16)
        {
            throw new ConfigurationException(Key("Routing:MaxAttempts"), "must be 1..16");
        }

        if (section.Routing.EjectionSeconds is < 0 or > 3600)
        {
            throw new ConfigurationException(Key("Routing:EjectionSeconds"), "must be 0..3600");
        }

        if (double.IsNaN(section.Routing.DrainNoticeSeconds) || section.Routing.DrainNoticeSeconds is < 0 or > 60)
        {
            throw new ConfigurationException(Key("Routing:DrainNoticeSeconds"), "must be 0..60");
        }

        if (section.Directory.AnnouncementTtlSeconds is < 3 or > 600)
        {
            throw new ConfigurationException(Key("Directory:AnnouncementTtlSeconds"), "must be 3..600");
        }

        FabricSessionOptions session = ReadSession(section.Session, Key);
        var services = new List<ServiceReplica>();
        for (int i = 0; i < section.Services.Count; i++)
        {
            services.Add(ReadService(Key($"Services:{i}"), section.Services[i], section.NodeName));
        }

        var options = new FabricNodeOptions
        {
            Name = section.NodeName,
            Listen = listen,
            Peers = peers,
            Plaintext = section.Plaintext,
            Roles = section.Roles.Count == 0 ? knownRoles : section.Roles,
            Security = ReadSecurity(section.Security, psk, certificate, Key),
            Tcp = ReadTcp(section.Tcp, Key),
            Routing = new RoutingOptions
            {
                Policy = policy,
                MaxAttempts = section.Routing.MaxAttempts,
                EjectionTime = TimeSpan.FromSeconds(section.Routing.EjectionSeconds),
                ServeLocalInProcess = section.Routing.ServeLocalInProcess,
                DrainNotice = TimeSpan.FromSeconds(section.Routing.DrainNoticeSeconds),
            },
            Directory = new DirectoryOptions
            {
                AnnouncementTtl = TimeSpan.FromSeconds(section.Directory.AnnouncementTtlSeconds),
                KnownServices = section.Directory.KnownServices.Count == 0 ? null : section.Directory.KnownServices.ToHashSet(),
            },
            AccessPolicy = ReadAccessPolicy(section.Access, sectionPath),
            Session = session,
        };
        return new FabricSettings(identity, previous, trust, options, services);
    }

    /// <summary>Reads <c>Fabric:Session</c>: every value within its range, the idle timeout longer than the ping interval.</summary>
    private static FabricSessionOptions ReadSession(SessionSection session, Func<string, string> key)
    {
        InRange(key("Session:DrainTimeoutSeconds"), session.DrainTimeoutSeconds, 0.1, 3600);
        InRange(key("Session:PingIntervalSeconds"), session.PingIntervalSeconds, 0.05, 60);
        InRange(key("Session:PingTimeoutSeconds"), session.PingTimeoutSeconds, 0.1, 600);
        InRange(key("Session:IdleTimeoutSeconds"), session.IdleTimeoutSeconds, 0, 86400);
        InRange(key("Session:HelloTimeoutSeconds"), session.HelloTimeoutSeconds, 0.1, 600);
        InRange(key("Session:MaxConcurrentStreams"), session.MaxConcurrentStreams, 1, 1 << 20);
        InRange(key("Session:MaxFramePayload"), session.MaxFramePayload, 1024, 65535);
        InRange(key("Session:InitialStreamWindow"), session.InitialStreamWindow, session.MaxFramePayload, 1 << 30);
        InRange(key("Session:MaxStreamWindow"), session.MaxStreamWindow, session.InitialStreamWindow, 1 << 30);
        InRange(key("Session:SessionWindow"), session.SessionWindow, session.InitialStreamWindow, int.MaxValue);
        InRange(key("Session:StreamSendBufferSize"), session.StreamSendBufferSize, 1024, 1 << 30);
        InRange(key("Session:AcceptBacklog"), session.AcceptBacklog, 1, 1 << 20);
        InRange(key("Session:FlushThreshold"), session.FlushThreshold, session.MaxFramePayload, 16 * 1024 * 1024);
        InRange(key("Session:MaxPendingControlFrames"), session.MaxPendingControlFrames, 64, 1 << 24);
        FloodSection flood = session.Flood;
        InRange(key("Session:Flood:MaxPingsPerSecond"), flood.MaxPingsPerSecond, 1, 1_000_000);
        InRange(key("Session:Flood:MaxResetsPerSecond"), flood.MaxResetsPerSecond, 1, 1_000_000);
        InRange(key("Session:Flood:MaxEmptyDataPerSecond"), flood.MaxEmptyDataPerSecond, 1, 1_000_000);
        InRange(key("Session:Flood:MaxRefusedOpensPerSecond"), flood.MaxRefusedOpensPerSecond, 1, 1_000_000);
        InRange(key("Session:Flood:MaxControlFramesPerSecond"), flood.MaxControlFramesPerSecond, 1, 100_000_000);
        if (session.IdleTimeoutSeconds > 0 && session.IdleTimeoutSeconds <= session.PingIntervalSeconds)
        {
            throw new ConfigurationException(key("Session:IdleTimeoutSeconds"), $"must be 0 (off) or longer than Session:PingIntervalSeconds ({Text(session.PingIntervalSeconds)}): pings keep a quiet link alive");
        }

        var options = new FabricSessionOptions
        {
            DrainTimeout = TimeSpan.FromSeconds(session.DrainTimeoutSeconds),
            PingInterval = TimeSpan.FromSeconds(session.PingIntervalSeconds),
            PingTimeout = TimeSpan.FromSeconds(session.PingTimeoutSeconds),
            IdleTimeout = TimeSpan.FromSeconds(session.IdleTimeoutSeconds),
            HelloTimeout = TimeSpan.FromSeconds(session.HelloTimeoutSeconds),
            MaxConcurrentStreams = session.MaxConcurrentStreams,
            MaxFramePayload = session.MaxFramePayload,
            InitialStreamWindow = session.InitialStreamWindow,
            MaxStreamWindow = session.MaxStreamWindow,
            SessionWindow = session.SessionWindow,
            StreamSendBufferSize = session.StreamSendBufferSize,
            AcceptBacklog = session.AcceptBacklog,
            FlushThreshold = session.FlushThreshold,
            MaxPendingControlFrames = session.MaxPendingControlFrames,
            Flood = new FloodLimits
            {
                MaxPingsPerSecond = flood.MaxPingsPerSecond,
                MaxResetsPerSecond = flood.MaxResetsPerSecond,
                MaxEmptyDataPerSecond = flood.MaxEmptyDataPerSecond,
                MaxRefusedOpensPerSecond = flood.MaxRefusedOpensPerSecond,
                MaxControlFramesPerSecond = flood.MaxControlFramesPerSecond,
            },
        };
        options.Validate(); // everything above is checked with its key; this only guards against a check missing here
        return options;
    }

    /// <summary>Reads <c>Fabric:Security</c> into the link options (with the pre-shared key and certificate read elsewhere).</summary>
    private static SecureLinkOptions ReadSecurity(SecuritySection security, byte[]? preSharedKey, byte[]? certificate, Func<string, string> key)
    {
        var suites = new List<CipherSuite>();
        for (int i = 0; i < security.CipherSuites.Count; i++)
        {
            string name = security.CipherSuites[i];
            if (!Enum.TryParse(name, ignoreCase: true, out CipherSuite suite) || !Enum.IsDefined(suite) || int.TryParse(name, out _))
            {
                throw new ConfigurationException(key($"Security:CipherSuites:{i}"), $"'{name}' is not a record cipher; use ChaCha20Poly1305 or Aes256Gcm");
            }

            if (suites.Contains(suite))
            {
                throw new ConfigurationException(key($"Security:CipherSuites:{i}"), $"{suite} is listed twice");
            }

            suites.Add(suite);
        }

        InRange(key("Security:HandshakeTimeoutSeconds"), security.HandshakeTimeoutSeconds, 0.1, 120);
        InRange(key("Security:MaxRejectedRecords"), security.MaxRejectedRecords, 0, 1_000_000);
        InRange(key("Security:HandshakesPerSecondPerSource"), security.HandshakesPerSecondPerSource, 0.001, 1_000_000);
        InRange(key("Security:HandshakeBurstPerSource"), security.HandshakeBurstPerSource, 1, 1_000_000);
        var options = new SecureLinkOptions
        {
            PreSharedKey = preSharedKey,
            Certificate = certificate,
            CipherSuites = suites.Count == 0 ? new SecureLinkOptions().CipherSuites : suites,
            HandshakeTimeout = TimeSpan.FromSeconds(security.HandshakeTimeoutSeconds),
            MaxRejectedRecords = security.MaxRejectedRecords,
            HandshakesPerSecondPerSource = security.HandshakesPerSecondPerSource,
            HandshakeBurstPerSource = security.HandshakeBurstPerSource,
        };
        options.Validate();
        return options;
    }

    /// <summary>Reads <c>Fabric:Tcp</c>.</summary>
    private static TcpLinkOptions ReadTcp(TcpSection tcp, Func<string, string> key)
    {
        InRange(key("Tcp:SendBufferSize"), tcp.SendBufferSize, 0, 64 * 1024 * 1024);
        InRange(key("Tcp:ReceiveBufferSize"), tcp.ReceiveBufferSize, 0, 64 * 1024 * 1024);
        InRange(key("Tcp:NotSentLowWatermark"), tcp.NotSentLowWatermark, 0, 64 * 1024 * 1024);
        InRange(key("Tcp:ConnectTimeoutSeconds"), tcp.ConnectTimeoutSeconds, 0.1, 600);
        var options = new TcpLinkOptions
        {
            SendBufferSize = tcp.SendBufferSize,
            ReceiveBufferSize = tcp.ReceiveBufferSize,
            NotSentLowWatermark = tcp.NotSentLowWatermark,
            ConnectTimeout = TimeSpan.FromSeconds(tcp.ConnectTimeoutSeconds),
        };
        options.Validate();
        return options;
    }

    private static void InRange(string key, double value, double min, double max)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            throw new ConfigurationException(key, $"{Text(value)} is outside {Text(min)}..{Text(max)}");
        }
    }

    private static string Text(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads <c>Fabric:Access</c> (also on a configuration reload).</summary>
    public static AccessPolicy ReadAccessPolicy(AccessSection access, string sectionPath = FabricSection.Name)
    {
        ArgumentNullException.ThrowIfNull(access);
        string Key(string name) => $"{sectionPath}:Access:{name}";
        AccessAction ParseAction(string key, string text) => Enum.TryParse(text, ignoreCase: true, out AccessAction action) && Enum.IsDefined(action)
            ? action
            : throw new ConfigurationException(key, $"'{text}' is not Allow or Deny");
        AccessAction fallback = ParseAction(Key("Default"), access.Default);
        static IReadOnlyList<string> AnyIfEmpty(List<string> list) => list.Count == 0 ? ["*"] : list;
        var rules = access.Rules.Select((r, i) => new AccessRule(AnyIfEmpty(r.Services), AnyIfEmpty(r.Nodes), AnyIfEmpty(r.Sources), ParseAction(Key($"Rules:{i}:Action"), r.Action))).ToList();
        try
        {
            return new AccessPolicy(rules, fallback);
        }
        catch (FormatException ex)
        {
            throw new ConfigurationException(Key("Rules"), ex.Message);
        }
    }

    /// <summary>Subprotocol names the configuration may use instead of ids.</summary>
    public static ushort ParseSubprotocol(string key, string text)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "fabric.echo":
            case "echo":
                return CoreSubprotocols.Echo;
            case "http":
                return CoreSubprotocols.Http;
            case "grpc":
                return CoreSubprotocols.Grpc;
            case "mqtt":
                return CoreSubprotocols.Mqtt;
            case "smtp":
                return CoreSubprotocols.Smtp;
            default:
                string t = text.Trim();
                if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && ushort.TryParse(t.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ushort hex) && hex != 0)
                {
                    return hex;
                }

                throw new ConfigurationException(key, $"'{text}' is not a subprotocol: use echo, http, grpc, mqtt, smtp or a hex id such as 0x2201");
        }
    }

    private static ServiceReplica ReadService(string key, ServiceSection service, string nodeName)
    {
        if (string.IsNullOrWhiteSpace(service.Name) || System.Text.Encoding.UTF8.GetByteCount(service.Name) > ServiceReplica.MaxNameBytes)
        {
            throw new ConfigurationException(key + ":Name", "must be 1..255 UTF-8 bytes");
        }

        if (service.Subprotocols.Count is 0 or > ServiceReplica.MaxSubprotocols)
        {
            throw new ConfigurationException(key + ":Subprotocols", $"list 1..{ServiceReplica.MaxSubprotocols} subprotocols the service is reached with");
        }

        if (service.Weight is < 1 or > ushort.MaxValue)
        {
            throw new ConfigurationException(key + ":Weight", "must be 1..65535");
        }

        if (service.Priority is < 0 or > 255)
        {
            throw new ConfigurationException(key + ":Priority", "must be 0..255");
        }

        ushort[] ids = [.. service.Subprotocols.Select((s, j) => ParseSubprotocol($"{key}:Subprotocols:{j}", s))];
        string instance = string.IsNullOrWhiteSpace(service.Instance) ? nodeName : service.Instance;
        return new ServiceReplica(service.Name, instance, ids, (ushort)service.Weight, (byte)service.Priority);
    }

    /// <summary>Default place for generated keys.</summary>
    public static string DefaultDataDirectory()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        string root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return Path.Combine(root, "fabric-gateway");
    }

    /// <summary>Parses host:port (IP literal or <c>localhost</c>).</summary>
    public static IPEndPoint ParseEndPoint(string key, string value)
    {
        string text = value.Trim();
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text["localhost".Length..];
        }

        if (!IPEndPoint.TryParse(text, out IPEndPoint? endPoint) || !text.Contains(':', StringComparison.Ordinal))
        {
            throw new ConfigurationException(key, $"'{value}' is not an address and port such as 127.0.0.1:7400");
        }

        return endPoint;
    }

    private static byte[] ParseKey(string key, string value)
    {
        try
        {
            return PublicKeys.ParseBase64(value);
        }
        catch (FormatException ex)
        {
            throw new ConfigurationException(key, ex.Message);
        }
    }

    private static NodeIdentity LoadIdentity(string key, string path, bool create)
    {
        try
        {
            return create ? NodeIdentity.LoadOrCreate(path) : NodeIdentity.Load(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new ConfigurationException(key, ex.Message);
        }
    }

    private static byte[] ReadCertificate(string key, string path, NodeIdentity identity)
    {
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            NodeCertificate certificate = NodeCertificate.Parse(bytes);
            if (certificate.NodeId != identity.Id)
            {
                throw new ConfigurationException(key, $"the certificate is for node {certificate.NodeId.ShortForm}, not this node's key ({identity.Id.ShortForm})");
            }

            return bytes;
        }
        catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException)
        {
            throw new ConfigurationException(key, ex.Message);
        }
    }

    private static byte[]? ReadPreSharedKey(FabricSection section, Func<string, string> key)
    {
        string text = section.PreSharedKey;
        string source = key("PreSharedKey");
        if (!string.IsNullOrWhiteSpace(section.PreSharedKeyFile))
        {
            source = key("PreSharedKeyFile");
            try
            {
                text = File.ReadAllText(section.PreSharedKeyFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationException(source, ex.Message);
            }
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            byte[] psk = Convert.FromBase64String(text.Trim());
            return psk.Length == 32 ? psk : throw new ConfigurationException(source, $"the pre-shared key is {psk.Length} bytes; it must be 32 (base64 of 32 random bytes)");
        }
        catch (FormatException)
        {
            throw new ConfigurationException(source, "is not base64");
        }
    }
}
