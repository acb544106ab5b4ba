namespace Fabric.Core.Security;

/// <summary>Record ciphers. Handshakes always use ChaCha20-Poly1305; the transport cipher is negotiated.</summary>
public enum CipherSuite : byte
{
    /// <summary>ChaCha20-Poly1305 (RFC 8439): the default.</summary>
    ChaCha20Poly1305 = 1,

    /// <summary>AES-256-GCM: faster where AES-NI is present.</summary>
    Aes256Gcm = 2,
}
