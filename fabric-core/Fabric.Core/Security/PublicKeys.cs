using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>P-256 public keys on the wire: 65 bytes, 0x04 || X || Y (SEC 1 uncompressed).</summary>
public static class PublicKeys
{
    /// <summary>Encoded size.</summary>
    public const int Size = 65;

    /// <summary>Encodes the public half of <paramref name="key"/>.</summary>
    public static byte[] Encode(ECDiffieHellman key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ECParameters p = key.ExportParameters(includePrivateParameters: false);
        var encoded = new byte[Size];
        encoded[0] = 0x04;
        p.Q.X!.CopyTo(encoded, 1);
        p.Q.Y!.CopyTo(encoded, 33);
        return encoded;
    }

    /// <summary>
    /// Imports a peer's public key, rejecting anything that is not a point on P-256 (OpenSSL checks the curve
    /// equation), so an invalid-curve point never reaches a key agreement.
    /// </summary>
    public static ECDiffieHellman Import(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != Size || encoded[0] != 0x04)
        {
            throw new CryptographicException("a P-256 public key is 65 bytes starting with 0x04");
        }

        var parameters = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = encoded[1..33].ToArray(), Y = encoded[33..].ToArray() },
        };
        return ECDiffieHellman.Create(parameters);
    }

    /// <summary>True when <paramref name="encoded"/> is a valid P-256 point.</summary>
    public static bool IsValid(ReadOnlySpan<byte> encoded)
    {
        try
        {
            using ECDiffieHellman _ = Import(encoded);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>Parses a key written in configuration (base64 of the 65 bytes).</summary>
    public static byte[] ParseBase64(string text)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException ex)
        {
            throw new FormatException("a public key is the base64 of 65 bytes (0x04 || X || Y)", ex);
        }

        if (!IsValid(bytes))
        {
            throw new FormatException("the base64 does not decode to a P-256 public key (65 bytes, 0x04 || X || Y, on the curve)");
        }

        return bytes;
    }
}
