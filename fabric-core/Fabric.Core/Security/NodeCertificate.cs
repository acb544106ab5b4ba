using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Fabric.Core.Security;

/// <summary>
/// A node certificate: a fabric CA's statement that a public key belongs to a named node with roles, for a time.
/// Binary, big-endian (docs/PROTOCOL.md §2.6):
/// <code>
/// u8 version=1 | 65 node public key | u8 len + name | u8 count + (u8 len + role)* | i64 not before | i64 not after
/// | u64 serial | 8 issuer key id | 64 ECDSA P-256 SHA-256 signature (r || s) over all previous bytes
/// </code>
/// </summary>
public sealed class NodeCertificate
{
    /// <summary>Largest encoded certificate accepted.</summary>
    public const int MaxSize = 1024;

    private const byte FormatVersion = 1;
    private const int SignatureSize = 64;
    private const int MaxNameBytes = 64;
    private const int MaxRoles = 16;
    private const int MaxRoleBytes = 32;

    private NodeCertificate(byte[] encoded, byte[] publicKey, string name, IReadOnlyList<string> roles, DateTimeOffset notBefore, DateTimeOffset notAfter, ulong serial, byte[] issuerKeyId)
    {
        Encoded = encoded;
        PublicKey = publicKey;
        Name = name;
        Roles = roles;
        NotBefore = notBefore;
        NotAfter = notAfter;
        Serial = serial;
        IssuerKeyId = issuerKeyId;
    }

    /// <summary>The certificate bytes as sent on the wire.</summary>
    public byte[] Encoded { get; }

    /// <summary>The certified node public key.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The node id the certificate is for.</summary>
    public NodeId NodeId => NodeId.FromPublicKey(PublicKey);

    /// <summary>Node name.</summary>
    public string Name { get; }

    /// <summary>Roles (entry, relay, exit, service-host, ...).</summary>
    public IReadOnlyList<string> Roles { get; }

    /// <summary>Start of validity.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>End of validity.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>Serial number, unique per CA; revocation lists name it.</summary>
    public ulong Serial { get; }

    /// <summary>First 8 bytes of SHA-256 of the issuing CA's public key.</summary>
    public byte[] IssuerKeyId { get; }

    /// <summary>Signs a certificate with a CA key.</summary>
    internal static NodeCertificate Issue(ECDsa caKey, byte[] caPublicKey, byte[] nodePublicKey, string name, IReadOnlyList<string> roles, DateTimeOffset notBefore, DateTimeOffset notAfter, ulong serial)
    {
        if (!PublicKeys.IsValid(nodePublicKey))
        {
            throw new ArgumentException("not a P-256 public key", nameof(nodePublicKey));
        }

        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        if (nameBytes.Length is 0 or > MaxNameBytes)
        {
            throw new ArgumentException($"a node name is 1..{MaxNameBytes} UTF-8 bytes", nameof(name));
        }

        if (roles.Count > MaxRoles)
        {
            throw new ArgumentException($"at most {MaxRoles} roles", nameof(roles));
        }

        if (notAfter <= notBefore)
        {
            throw new ArgumentException("notAfter must be after notBefore", nameof(notAfter));
        }

        using var body = new MemoryStream();
        body.WriteByte(FormatVersion);
        body.Write(nodePublicKey);
        body.WriteByte((byte)nameBytes.Length);
        body.Write(nameBytes);
        body.WriteByte((byte)roles.Count);
        foreach (string role in roles)
        {
            byte[] r = Encoding.UTF8.GetBytes(role);
            if (r.Length is 0 or > MaxRoleBytes)
            {
                throw new ArgumentException($"a role is 1..{MaxRoleBytes} UTF-8 bytes", nameof(roles));
            }

            body.WriteByte((byte)r.Length);
            body.Write(r);
        }

        Span<byte> fixedPart = stackalloc byte[8 + 8 + 8 + 8];
        BinaryPrimitives.WriteInt64BigEndian(fixedPart, notBefore.ToUnixTimeSeconds());
        BinaryPrimitives.WriteInt64BigEndian(fixedPart[8..], notAfter.ToUnixTimeSeconds());
        BinaryPrimitives.WriteUInt64BigEndian(fixedPart[16..], serial);
        KeyId(caPublicKey).CopyTo(fixedPart[24..]);
        body.Write(fixedPart);
        byte[] signature = caKey.SignData(body.ToArray(), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        body.Write(signature);
        return Parse(body.ToArray());
    }

    /// <summary>Parses the structure (not the signature, see <see cref="VerifySignature"/>); throws <see cref="FormatException"/>.</summary>
    public static NodeCertificate Parse(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxSize)
        {
            throw new FormatException($"certificate of {encoded.Length} bytes exceeds {MaxSize}");
        }

        var reader = new SpanReader(encoded);
        if (reader.U8() != FormatVersion)
        {
            throw new FormatException("unknown certificate format version");
        }

        byte[] publicKey = reader.Bytes(PublicKeys.Size).ToArray();
        string name = reader.Utf8(reader.U8(), MaxNameBytes);
        int roleCount = reader.U8();
        if (roleCount > MaxRoles)
        {
            throw new FormatException($"certificate lists {roleCount} roles; the limit is {MaxRoles}");
        }

        var roles = new string[roleCount];
        for (int i = 0; i < roleCount; i++)
        {
            int roleLength = reader.U8();
            if (roleLength == 0)
            {
                throw new FormatException("empty role");
            }

            roles[i] = reader.Utf8(roleLength, MaxRoleBytes);
        }

        long notBefore = reader.I64();
        long notAfter = reader.I64();
        ulong serial = reader.U64();
        byte[] issuer = reader.Bytes(8).ToArray();
        reader.Bytes(SignatureSize);
        if (!reader.AtEnd)
        {
            throw new FormatException("trailing bytes after the certificate signature");
        }

        if (name.Length == 0)
        {
            throw new FormatException("empty node name");
        }

        return new NodeCertificate(encoded.ToArray(), publicKey, name, roles, ToTime(notBefore), ToTime(notAfter), serial, issuer);
    }

    /// <summary>Checks the CA signature with <paramref name="caPublicKey"/>.</summary>
    public bool VerifySignature(byte[] caPublicKey)
    {
        if (!KeyId(caPublicKey).AsSpan().SequenceEqual(IssuerKeyId))
        {
            return false;
        }

        using ECDsa ca = ImportCaKey(caPublicKey);
        ReadOnlySpan<byte> signed = Encoded.AsSpan(0, Encoded.Length - SignatureSize);
        return ca.VerifyData(signed, Encoded.AsSpan(Encoded.Length - SignatureSize), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>Identifier of a CA key: SHA-256 of its 65-byte public key, first 8 bytes.</summary>
    public static byte[] KeyId(ReadOnlySpan<byte> caPublicKey) => SHA256.HashData(caPublicKey)[..8];

    internal static ECDsa ImportCaKey(ReadOnlySpan<byte> caPublicKey)
    {
        if (caPublicKey.Length != PublicKeys.Size || caPublicKey[0] != 0x04)
        {
            throw new CryptographicException("a CA public key is 65 bytes starting with 0x04");
        }

        return ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = caPublicKey[1..33].ToArray(), Y = caPublicKey[33..].ToArray() },
        });
    }

    private static DateTimeOffset ToTime(long seconds)
    {
        if (seconds < DateTimeOffset.MinValue.ToUnixTimeSeconds() || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            throw new FormatException("certificate time out of range");
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds);
    }

    /// <summary>Bounds-checked big-endian reader; every overrun is a <see cref="FormatException"/>.</summary>
    private ref struct SpanReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _offset;

        public readonly bool AtEnd => _offset == _data.Length;

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count < 0 || _data.Length - _offset < count)
            {
                throw new FormatException("certificate truncated");
            }

            ReadOnlySpan<byte> slice = _data.Slice(_offset, count);
            _offset += count;
            return slice;
        }

        public byte U8() => Bytes(1)[0];

        public long I64() => BinaryPrimitives.ReadInt64BigEndian(Bytes(8));

        public ulong U64() => BinaryPrimitives.ReadUInt64BigEndian(Bytes(8));

        public string Utf8(int length, int max)
        {
            if (length > max)
            {
                throw new FormatException($"certificate string of {length} bytes exceeds {max}");
            }

            try
            {
                return new UTF8Encoding(false, true).GetString(Bytes(length));
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException("certificate string is not UTF-8", ex);
            }
        }
    }
}
