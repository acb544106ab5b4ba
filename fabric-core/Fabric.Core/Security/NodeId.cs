using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// A node's identity: SHA-256 of its static public key (65-byte uncompressed P-256 point). Printed in full as 64
/// hex digits, or in the short form <c>fn-</c> + 16 base32 characters (the first 10 bytes) for logs and UIs.
/// </summary>
public readonly record struct NodeId
{
    /// <summary>Size of the hash.</summary>
    public const int Size = 32;

    private readonly byte[]? _bytes;

    private NodeId(byte[] bytes) => _bytes = bytes;

    /// <summary>The 32 bytes of the id.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes ?? new byte[Size];

    /// <summary>Hashes a public key into its node id.</summary>
    public static NodeId FromPublicKey(ReadOnlySpan<byte> publicKey) => new(SHA256.HashData(publicKey));

    /// <summary>Wraps 32 id bytes (as sent in a withdrawal).</summary>
    public static NodeId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
        {
            throw new ArgumentException($"a node id is {Size} bytes", nameof(bytes));
        }

        return new NodeId(bytes.ToArray());
    }

    /// <summary>Parses 64 hex digits.</summary>
    public static NodeId Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        if (hex.Length != Size * 2)
        {
            throw new FormatException($"a node id is {Size * 2} hex digits; got {hex.Length} characters");
        }

        return new NodeId(Convert.FromHexString(hex));
    }

    /// <summary>Short printable form, e.g. <c>fn-mfrggzdfmztwq2lk</c>.</summary>
    public string ShortForm => "fn-" + Base32(Bytes[..10]);

    /// <inheritdoc/>
    public bool Equals(NodeId other) => Bytes.SequenceEqual(other.Bytes);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(Bytes);

    /// <summary>The full id in lower-case hex.</summary>
    public override string ToString() => Convert.ToHexStringLower(Bytes);

    private static string Base32(ReadOnlySpan<byte> data)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var chars = new char[(data.Length * 8 + 4) / 5];
        int bits = 0, value = 0, index = 0;
        foreach (byte b in data)
        {
            value = (value << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[index++] = alphabet[(value >> (bits - 5)) & 31];
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            chars[index++] = alphabet[(value << (5 - bits)) & 31];
        }

        return new string(chars, 0, index);
    }
}
