using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// Transport record layout (docs/PROTOCOL.md §2.4):
/// <code>
///  0      1      2      3      4      5      6      7      8 .. 11     12 .. 19        20 ..
/// +------+------+------+------+------+------+------+------+----------+---------------+------------------------+
/// | 0x03 | gen  | reserved=0  |   body length (u32)       | link id  | counter (u64) | ciphertext | tag (16)  |
/// +------+------+------+------+------+------+------+------+----------+---------------+------------------------+
/// </code>
/// The 20-byte header is the AEAD's associated data; the nonce is 4 zero bytes then the counter (big-endian).
/// </summary>
internal static class RecordFormat
{
    public const int HeaderSize = RecordPrefix.Size + 4 + 8;
    public const int TagSize = 16;
    public const int Overhead = HeaderSize + TagSize;
    public const int MaxPlaintext = 64 * 1024;
    public const uint MaxTransportBody = 4 + 8 + MaxPlaintext + TagSize;

    public static void WriteHeader(Span<byte> destination, byte generation, int plaintextLength, uint linkId, ulong counter)
    {
        new RecordPrefix(SecureRecordType.Transport, generation, 0, (uint)(12 + plaintextLength + TagSize)).Write(destination);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], linkId);
        BinaryPrimitives.WriteUInt64BigEndian(destination[12..], counter);
    }

    public static void Nonce(Span<byte> nonce, ulong counter)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce[4..], counter);
    }

    /// <summary>Traffic secret of the next key generation: HKDF-Expand(secret, "fabric key update", 32).</summary>
    public static byte[] NextSecret(ReadOnlySpan<byte> secret)
    {
        var next = new byte[32];
        HKDF.Expand(HashAlgorithmName.SHA256, secret, next, "fabric key update"u8);
        return next;
    }
}
