using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Fabric.Core.Security;

namespace Fabric.Core.Discovery;

/// <summary>
/// What a node says about itself, signed with its node key so that no relay can forge or alter it: identity, name,
/// roles, the subprotocols it handles (its capability tags), its pressure (NODE_PRESSURE, 0..100), and the service
/// replicas it hosts. A newer sequence number replaces an older announcement; the TTL bounds how long it is believed
/// without a refresh. Wire format in docs/PROTOCOL.md §3.2.
/// </summary>
public sealed class NodeAnnouncement
{
    /// <summary>Domain label of announcement signatures.</summary>
    public static ReadOnlySpan<byte> SignatureDomain => "fabric-announce/1"u8;

    /// <summary>Largest encoded announcement.</summary>
    public const int MaxSize = 64 * 1024;

    /// <summary>Most replicas one node may announce.</summary>
    public const int MaxReplicas = 256;

    /// <summary>Most roles.</summary>
    public const int MaxRoles = 16;

    /// <summary>Most subprotocol ids in the capability list.</summary>
    public const int MaxCapabilities = 256;

    private const byte FormatVersion = 1;
    private const int SignatureSize = 64;

    private NodeAnnouncement(byte[] encoded, byte[] publicKey, ulong sequence, TimeSpan ttl, byte pressure, string name, IReadOnlyList<string> roles, IReadOnlyList<ushort> capabilities, byte[] certificate, IReadOnlyList<ServiceReplica> replicas)
    {
        Encoded = encoded;
        PublicKey = publicKey;
        Origin = NodeId.FromPublicKey(publicKey);
        Sequence = sequence;
        Ttl = ttl;
        Pressure = pressure;
        Name = name;
        Roles = roles;
        Capabilities = capabilities;
        Certificate = certificate;
        Replicas = replicas;
    }

    /// <summary>The signed bytes as they travel.</summary>
    public byte[] Encoded { get; }

    /// <summary>The origin's public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The origin node.</summary>
    public NodeId Origin { get; }

    /// <summary>Increases with every announcement of the origin.</summary>
    public ulong Sequence { get; }

    /// <summary>How long the announcement holds without a newer one.</summary>
    public TimeSpan Ttl { get; }

    /// <summary>Load of the origin, 0 (idle) to 100 (saturated).</summary>
    public byte Pressure { get; }

    /// <summary>The origin's name.</summary>
    public string Name { get; }

    /// <summary>The origin's roles (entry, relay, exit, service-host).</summary>
    public IReadOnlyList<string> Roles { get; }

    /// <summary>Subprotocols the origin handles; its capability tags are <c>subprotocol:0x....</c> of each.</summary>
    public IReadOnlyList<ushort> Capabilities { get; }

    /// <summary>The origin's certificate (for CA-based trust), or empty.</summary>
    public byte[] Certificate { get; }

    /// <summary>Replicas the origin hosts.</summary>
    public IReadOnlyList<ServiceReplica> Replicas { get; }

    /// <summary>True when the origin says it relays for others.</summary>
    public bool IsRelay => Roles.Contains("relay");

    /// <summary>Builds and signs an announcement.</summary>
    public static NodeAnnouncement Create(NodeIdentity origin, ulong sequence, TimeSpan ttl, byte pressure, string name, IReadOnlyList<string> roles, IReadOnlyList<ushort> capabilities, IReadOnlyList<ServiceReplica> replicas, byte[]? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(origin);
        var body = new Writer();
        body.U8(FormatVersion);
        body.Bytes(origin.PublicKey);
        body.U64(sequence);
        body.U16(checked((ushort)Math.Clamp(ttl.TotalSeconds, 1, ushort.MaxValue)));
        body.U8(Math.Min(pressure, (byte)100));
        body.Text8(name);
        body.U8(checked((byte)roles.Count));
        foreach (string role in roles)
        {
            body.Text8(role);
        }

        body.U16(checked((ushort)capabilities.Count));
        foreach (ushort id in capabilities)
        {
            body.U16(id);
        }

        certificate ??= [];
        body.U16(checked((ushort)certificate.Length));
        body.Bytes(certificate);
        body.U16(checked((ushort)replicas.Count));
        foreach (ServiceReplica replica in replicas)
        {
            body.Text8(replica.Service);
            body.Text8(replica.Instance);
            body.U16(replica.Weight);
            body.U8(replica.Priority);
            body.U8((byte)replica.Health);
            body.U8(checked((byte)replica.Subprotocols.Count));
            foreach (ushort id in replica.Subprotocols)
            {
                body.U16(id);
            }
        }

        byte[] unsigned = body.ToArray();
        byte[] signature = origin.Sign(SignatureDomain, unsigned);
        byte[] encoded = [.. unsigned, .. signature];
        return Parse(encoded);
    }

    /// <summary>Parses and checks the structure and every limit (not the signature): throws <see cref="FormatException"/>.</summary>
    public static NodeAnnouncement Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxSize)
        {
            throw new FormatException($"announcement of {encoded.Length} bytes exceeds {MaxSize}");
        }

        var r = new Reader(encoded);
        if (r.U8() != FormatVersion)
        {
            throw new FormatException("unknown announcement format version");
        }

        byte[] publicKey = r.Bytes(PublicKeys.Size).ToArray();
        ulong sequence = r.U64();
        ushort ttl = r.U16();
        if (ttl == 0)
        {
            throw new FormatException("announcement TTL of 0");
        }

        byte pressure = r.U8();
        if (pressure > 100)
        {
            throw new FormatException($"pressure {pressure} above 100");
        }

        string name = r.Text8();
        int roleCount = r.U8();
        Limit(roleCount, MaxRoles, "roles");
        var roles = new string[roleCount];
        for (int i = 0; i < roleCount; i++)
        {
            roles[i] = r.Text8();
        }

        int capabilityCount = r.U16();
        Limit(capabilityCount, MaxCapabilities, "capabilities");
        var capabilities = new ushort[capabilityCount];
        for (int i = 0; i < capabilityCount; i++)
        {
            capabilities[i] = r.U16();
        }

        int certificateLength = r.U16();
        Limit(certificateLength, NodeCertificate.MaxSize, "certificate bytes");
        byte[] certificate = r.Bytes(certificateLength).ToArray();
        int replicaCount = r.U16();
        Limit(replicaCount, MaxReplicas, "replicas");
        var replicas = new ServiceReplica[replicaCount];
        for (int i = 0; i < replicaCount; i++)
        {
            string service = r.Text8();
            string instance = r.Text8();
            if (service.Length == 0 || instance.Length == 0)
            {
                throw new FormatException("empty service or instance name");
            }

            ushort weight = r.U16();
            byte priority = r.U8();
            byte health = r.U8();
            if (health > (byte)ReplicaHealth.Unhealthy)
            {
                throw new FormatException($"unknown replica health {health}");
            }

            int subprotocolCount = r.U8();
            Limit(subprotocolCount, ServiceReplica.MaxSubprotocols, "subprotocols of a replica");
            var subprotocols = new ushort[subprotocolCount];
            for (int j = 0; j < subprotocolCount; j++)
            {
                subprotocols[j] = r.U16();
            }

            replicas[i] = new ServiceReplica(service, instance, subprotocols, weight, priority, (ReplicaHealth)health);
        }

        r.Bytes(SignatureSize);
        if (!r.AtEnd)
        {
            throw new FormatException("trailing bytes after the announcement signature");
        }

        return new NodeAnnouncement(encoded.ToArray(), publicKey, sequence, TimeSpan.FromSeconds(ttl), pressure, name, roles, capabilities, certificate, replicas);
    }

    /// <summary>Checks the origin's signature over the announcement.</summary>
    public bool VerifySignature()
        => NodeIdentity.Verify(PublicKey, SignatureDomain, Encoded.AsSpan(0, Encoded.Length - SignatureSize), Encoded.AsSpan(Encoded.Length - SignatureSize));

    private static void Limit(int count, int max, string what)
    {
        if (count > max)
        {
            throw new FormatException($"announcement lists {count} {what}; the limit is {max}");
        }
    }

    private sealed class Writer
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(512);

        public void U8(byte value)
        {
            _buffer.GetSpan(1)[0] = value;
            _buffer.Advance(1);
        }

        public void U16(ushort value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer.GetSpan(2), value);
            _buffer.Advance(2);
        }

        public void U64(ulong value)
        {
            BinaryPrimitives.WriteUInt64BigEndian(_buffer.GetSpan(8), value);
            _buffer.Advance(8);
        }

        public void Bytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

        public void Text8(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            if (bytes.Length > ServiceReplica.MaxNameBytes)
            {
                throw new ArgumentException($"'{text}' is longer than {ServiceReplica.MaxNameBytes} UTF-8 bytes");
            }

            U8((byte)bytes.Length);
            Bytes(bytes);
        }

        public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private static readonly UTF8Encoding StrictUtf8 = new(false, true);
        private readonly ReadOnlySpan<byte> _data = data;
        private int _offset;

        public readonly bool AtEnd => _offset == _data.Length;

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (_data.Length - _offset < count)
            {
                throw new FormatException("announcement truncated");
            }

            ReadOnlySpan<byte> slice = _data.Slice(_offset, count);
            _offset += count;
            return slice;
        }

        public byte U8() => Bytes(1)[0];

        public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Bytes(2));

        public ulong U64() => BinaryPrimitives.ReadUInt64BigEndian(Bytes(8));

        public string Text8()
        {
            int length = U8();
            try
            {
                return StrictUtf8.GetString(Bytes(length));
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException("announcement text is not UTF-8", ex);
            }
        }
    }
}
