using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Fabric.Core.Security;

/// <summary>
/// The Noise Protocol Framework's SymmetricState (noiseprotocol.org/noise.html §5.2) with SHA-256, HKDF and
/// ChaCha20-Poly1305. Handshake AEAD nonces follow Noise's ChaChaPoly convention: 32 zero bits then the 64-bit
/// counter little-endian. Not thread-safe; one instance per handshake.
/// </summary>
internal sealed class SymmetricState : IDisposable
{
    public const int HashLength = 32;
    public const int TagLength = 16;

    private readonly byte[] _ck = new byte[HashLength];
    private readonly byte[] _h = new byte[HashLength];
    private readonly byte[] _k = new byte[HashLength];
    private bool _hasKey;
    private ulong _n;

    public SymmetricState(string protocolName)
    {
        byte[] name = Encoding.ASCII.GetBytes(protocolName);
        if (name.Length <= HashLength)
        {
            name.CopyTo(_h, 0);
        }
        else
        {
            SHA256.HashData(name, _h);
        }

        _h.CopyTo(_ck, 0);
    }

    /// <summary>The handshake hash h: binds everything sent and received so far.</summary>
    public ReadOnlySpan<byte> Hash => _h;

    public void MixHash(ReadOnlySpan<byte> data)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(_h);
        sha.AppendData(data);
        sha.GetHashAndReset(_h);
    }

    public void MixKey(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> output = stackalloc byte[2 * HashLength];
        Hkdf(_ck, inputKeyMaterial, output);
        output[..HashLength].CopyTo(_ck);
        output[HashLength..].CopyTo(_k);
        _hasKey = true;
        _n = 0;
        CryptographicOperations.ZeroMemory(output);
    }

    public void MixKeyAndHash(ReadOnlySpan<byte> inputKeyMaterial)
    {
        Span<byte> output = stackalloc byte[3 * HashLength];
        Hkdf(_ck, inputKeyMaterial, output);
        output[..HashLength].CopyTo(_ck);
        MixHash(output.Slice(HashLength, HashLength));
        output[(2 * HashLength)..].CopyTo(_k);
        _hasKey = true;
        _n = 0;
        CryptographicOperations.ZeroMemory(output);
    }

    /// <summary>Encrypts with ad = h and mixes the ciphertext into h. Output is plaintext length + 16.</summary>
    public byte[] EncryptAndHash(ReadOnlySpan<byte> plaintext)
    {
        if (!_hasKey)
        {
            throw new InvalidOperationException("this handshake pattern never sends plaintext payloads");
        }

        var output = new byte[plaintext.Length + TagLength];
        Span<byte> nonce = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], _n++);
        using (var aead = new ChaCha20Poly1305(_k))
        {
            aead.Encrypt(nonce, plaintext, output.AsSpan(0, plaintext.Length), output.AsSpan(plaintext.Length), _h);
        }

        MixHash(output);
        return output;
    }

    /// <summary>Decrypts with ad = h (throws <see cref="CryptographicException"/> on a bad tag) and mixes the ciphertext into h.</summary>
    public byte[] DecryptAndHash(ReadOnlySpan<byte> ciphertext)
    {
        if (!_hasKey || ciphertext.Length < TagLength)
        {
            throw new CryptographicException("handshake ciphertext too short");
        }

        var plaintext = new byte[ciphertext.Length - TagLength];
        Span<byte> nonce = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], _n++);
        using (var aead = new ChaCha20Poly1305(_k))
        {
            aead.Decrypt(nonce, ciphertext[..plaintext.Length], ciphertext[plaintext.Length..], plaintext, _h);
        }

        MixHash(ciphertext);
        return plaintext;
    }

    /// <summary>Noise Split(): the two transport keys (initiator to responder, responder to initiator).</summary>
    public (byte[] InitiatorToResponder, byte[] ResponderToInitiator) Split()
    {
        Span<byte> output = stackalloc byte[2 * HashLength];
        Hkdf(_ck, ReadOnlySpan<byte>.Empty, output);
        var keys = (output[..HashLength].ToArray(), output[HashLength..].ToArray());
        CryptographicOperations.ZeroMemory(output);
        return keys;
    }

    /// <summary>Noise HKDF(chaining key, ikm) = HKDF-Extract(salt = ck, ikm) then HKDF-Expand(info = "", L) (RFC 5869).</summary>
    private static void Hkdf(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> inputKeyMaterial, Span<byte> output)
    {
        // Extract is HMAC(salt = ck, ikm) (RFC 5869 §2.2); written out because the BCL's HKDF.Extract refuses an
        // empty ikm, which Noise's Split() uses.
        Span<byte> prk = stackalloc byte[HashLength];
        HMACSHA256.HashData(chainingKey, inputKeyMaterial, prk);
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, ReadOnlySpan<byte>.Empty);
        CryptographicOperations.ZeroMemory(prk);
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_ck);
        CryptographicOperations.ZeroMemory(_k);
    }
}
