using System.Buffers.Binary;

namespace Fabric.Core.Security;

/// <summary>
/// Payload of HANDSHAKE_INIT (encrypted):
/// <code>u16 version | u64 timestamp (ns since 1970, strictly increasing per initiator) | u64 process epoch | u8 offered suites (bit 0 ChaCha20-Poly1305, bit 1 AES-256-GCM) | u16 certificate length | certificate</code>
/// </summary>
internal sealed record InitPayload(ushort Version, ulong Timestamp, ulong ProcessEpoch, byte OfferedSuites, byte[] Certificate)
{
    public const int FixedSize = 21;

    public byte[] Encode()
    {
        var bytes = new byte[FixedSize + Certificate.Length];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, Version);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(2), Timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(10), ProcessEpoch);
        bytes[18] = OfferedSuites;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(19), (ushort)Certificate.Length);
        Certificate.CopyTo(bytes, FixedSize);
        return bytes;
    }

    public static InitPayload Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < FixedSize)
        {
            throw new SecureHandshakeException(HandshakeFailure.Malformed, "HANDSHAKE_INIT payload too short");
        }

        int certLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[19..]);
        if (certLength > NodeCertificate.MaxSize || bytes.Length != FixedSize + certLength)
        {
            throw new SecureHandshakeException(HandshakeFailure.Malformed, "HANDSHAKE_INIT certificate length does not match");
        }

        return new InitPayload(
            BinaryPrimitives.ReadUInt16BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[10..]),
            bytes[18],
            bytes[FixedSize..].ToArray());
    }
}

/// <summary>
/// Payload of HANDSHAKE_RESPONSE (encrypted):
/// <code>u16 version | u64 process epoch | u8 chosen suite | u16 certificate length | certificate</code>
/// </summary>
internal sealed record ResponsePayload(ushort Version, ulong ProcessEpoch, CipherSuite Suite, byte[] Certificate)
{
    public const int FixedSize = 13;

    public byte[] Encode()
    {
        var bytes = new byte[FixedSize + Certificate.Length];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, Version);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(2), ProcessEpoch);
        bytes[10] = (byte)Suite;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(11), (ushort)Certificate.Length);
        Certificate.CopyTo(bytes, FixedSize);
        return bytes;
    }

    public static ResponsePayload Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < FixedSize)
        {
            throw new SecureHandshakeException(HandshakeFailure.Malformed, "HANDSHAKE_RESPONSE payload too short");
        }

        int certLength = BinaryPrimitives.ReadUInt16BigEndian(bytes[11..]);
        if (certLength > NodeCertificate.MaxSize || bytes.Length != FixedSize + certLength)
        {
            throw new SecureHandshakeException(HandshakeFailure.Malformed, "HANDSHAKE_RESPONSE certificate length does not match");
        }

        byte suite = bytes[10];
        if (suite is not ((byte)CipherSuite.ChaCha20Poly1305 or (byte)CipherSuite.Aes256Gcm))
        {
            throw new SecureHandshakeException(HandshakeFailure.NoCommonCipher, $"HANDSHAKE_RESPONSE chose unknown suite {suite}");
        }

        return new ResponsePayload(
            BinaryPrimitives.ReadUInt16BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]),
            (CipherSuite)suite,
            bytes[FixedSize..].ToArray());
    }
}

/// <summary>What a completed handshake yields: one traffic secret per direction and the link id.</summary>
internal sealed record TransportKeys(byte[] SendSecret, byte[] ReceiveSecret, uint LinkId, byte[] HandshakeHash);
