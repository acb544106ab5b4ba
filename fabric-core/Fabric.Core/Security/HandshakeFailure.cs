namespace Fabric.Core.Security;

/// <summary>Why a handshake did not complete.</summary>
public enum HandshakeFailure
{
    /// <summary>A record or payload did not parse, or a length is out of bounds.</summary>
    Malformed,

    /// <summary>The cheap MAC (keyed by the fabric PSK and the receiver's key) is wrong: wrong or missing PSK, or not meant for this node.</summary>
    BadMac,

    /// <summary>The handshake names a static key this node does not hold.</summary>
    UnknownResponderKey,

    /// <summary>An encrypted part failed authentication.</summary>
    DecryptFailed,

    /// <summary>The initiator's timestamp is not newer than the last one accepted from it.</summary>
    Replay,

    /// <summary>The peer proved its key but the trust policy refuses it.</summary>
    Untrusted,

    /// <summary>The peer speaks another link protocol version.</summary>
    VersionMismatch,

    /// <summary>No cipher suite in common.</summary>
    NoCommonCipher,

    /// <summary>Too many handshakes from the source address.</summary>
    RateLimited,

    /// <summary>No answer in time (the responder drops what it does not accept without a word).</summary>
    Timeout,
}

/// <summary>A handshake failed; the link is closed.</summary>
public sealed class SecureHandshakeException(HandshakeFailure failure, string message) : IOException(message)
{
    /// <summary>The reason.</summary>
    public HandshakeFailure Failure { get; } = failure;
}
