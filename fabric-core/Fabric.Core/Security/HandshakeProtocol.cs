using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// Constants and the cheap MAC of the link handshake, Noise IKpsk2 over P-256 (docs/PROTOCOL.md §2.3):
/// <code>
///   &lt;- s
///   ...
///   -> e, es, s, ss          HANDSHAKE_INIT
///   &lt;- e, ee, se, psk       HANDSHAKE_RESPONSE
/// </code>
/// </summary>
internal static class HandshakeProtocol
{
    public const string ProtocolName = "Noise_IKpsk2_P256_ChaChaPoly_SHA256";
    public const ushort Version = 1;
    public const int KeyIdSize = 8;
    public const int MacSize = 16;
    public const int PskSize = 32;
    public const int MaxBody = 4096;

    /// <summary>Body of HANDSHAKE_INIT before the payload: key id + ephemeral + encrypted static.</summary>
    public const int InitFixedSize = KeyIdSize + PublicKeys.Size + PublicKeys.Size + SymmetricState.TagLength;

    public static ReadOnlySpan<byte> Prologue => "fabric-link/1"u8;

    /// <summary>First 8 bytes of SHA-256 of a static public key: tells a responder which of its keys is addressed.</summary>
    public static byte[] KeyId(ReadOnlySpan<byte> staticPublicKey) => SHA256.HashData(staticPublicKey)[..KeyIdSize];

    /// <summary>
    /// mac1 key = SHA-256("fabric-mac1" || psk || receiver static key), with an all-zero psk when none is set.
    /// Only a sender that knows the PSK and the receiver's key makes a mac1 the receiver accepts, and checking it
    /// costs one HMAC: a scanner gets no answer and costs no ECDH.
    /// </summary>
    public static byte[] Mac1Key(ReadOnlySpan<byte> psk, ReadOnlySpan<byte> receiverStaticKey)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData("fabric-mac1"u8);
        sha.AppendData(psk);
        sha.AppendData(receiverStaticKey);
        return sha.GetHashAndReset();
    }

    /// <summary>Writes mac1 = HMAC-SHA256(key, record without its last 16 bytes), truncated to 16 bytes, into those bytes.</summary>
    public static void WriteMac1(Span<byte> record, ReadOnlySpan<byte> key)
    {
        Span<byte> full = stackalloc byte[32];
        HMACSHA256.HashData(key, record[..^MacSize], full);
        full[..MacSize].CopyTo(record[^MacSize..]);
    }

    public static bool VerifyMac1(ReadOnlySpan<byte> record, ReadOnlySpan<byte> key)
    {
        if (record.Length < RecordPrefix.Size + MacSize)
        {
            return false;
        }

        Span<byte> full = stackalloc byte[32];
        HMACSHA256.HashData(key, record[..^MacSize], full);
        return CryptographicOperations.FixedTimeEquals(full[..MacSize], record[^MacSize..]);
    }

    /// <summary>A PSK of exactly 32 bytes, or 32 zero bytes when none is configured.</summary>
    public static byte[] NormalizePsk(ReadOnlySpan<byte> psk)
    {
        if (psk.IsEmpty)
        {
            return new byte[PskSize];
        }

        if (psk.Length != PskSize)
        {
            throw new ArgumentException($"the fabric pre-shared key must be {PskSize} bytes", nameof(psk));
        }

        return psk.ToArray();
    }

    public static byte[] NewRecord(SecureRecordType type, int bodyLength)
    {
        var record = new byte[RecordPrefix.Size + bodyLength];
        new RecordPrefix(type, 0, 0, (uint)bodyLength).Write(record);
        return record;
    }

    /// <summary>Raw ECDH; a bad point was already rejected at import.</summary>
    public static byte[] Dh(ECDiffieHellman privateKey, ECDiffieHellman peerPublic) => privateKey.DeriveRawSecretAgreement(peerPublic.PublicKey);

    public static uint LinkId(ReadOnlySpan<byte> handshakeHash) => BinaryPrimitives.ReadUInt32BigEndian(handshakeHash);

    public static ECDiffieHellman ImportPeerKey(ReadOnlySpan<byte> encoded, string what)
    {
        try
        {
            return PublicKeys.Import(encoded);
        }
        catch (CryptographicException)
        {
            throw new SecureHandshakeException(HandshakeFailure.Malformed, $"{what} is not a P-256 point");
        }
    }
}
