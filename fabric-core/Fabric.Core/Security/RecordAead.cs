using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>One AEAD key of the record layer: ChaCha20-Poly1305 or AES-256-GCM, 16-byte tags, 12-byte nonces.</summary>
internal sealed class RecordAead : IDisposable
{
    private readonly ChaCha20Poly1305? _chacha;
    private readonly AesGcm? _gcm;

    public RecordAead(CipherSuite suite, ReadOnlySpan<byte> key)
    {
        switch (suite)
        {
            case CipherSuite.ChaCha20Poly1305:
                _chacha = new ChaCha20Poly1305(key);
                break;
            case CipherSuite.Aes256Gcm:
                _gcm = new AesGcm(key, RecordFormat.TagSize);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(suite));
        }
    }

    public void Encrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associatedData)
    {
        if (_chacha is not null)
        {
            _chacha.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }
        else
        {
            _gcm!.Encrypt(nonce, plaintext, ciphertext, tag, associatedData);
        }
    }

    /// <summary>Decrypts; on a bad tag throws and leaves <paramref name="plaintext"/> zeroed (no unverified byte is released).</summary>
    public void Decrypt(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        if (_chacha is not null)
        {
            _chacha.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
        }
        else
        {
            _gcm!.Decrypt(nonce, ciphertext, tag, plaintext, associatedData);
        }
    }

    public void Dispose()
    {
        _chacha?.Dispose();
        _gcm?.Dispose();
    }
}
