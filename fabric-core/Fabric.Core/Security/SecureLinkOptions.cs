using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>Settings of secure links: pre-shared key, ciphers, key lifetimes and the limits that protect a responder.</summary>
public sealed record SecureLinkOptions
{
    /// <summary>A random epoch per process: peers see a new one after a restart.</summary>
    public static readonly ulong DefaultProcessEpoch = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    /// <summary>Optional 32-byte fabric pre-shared key. Without it a node's handshakes get no answer from nodes that have it.</summary>
    public byte[]? PreSharedKey { get; init; }

    /// <summary>Record ciphers in order of preference. A responder picks its first that the initiator offers.</summary>
    public IReadOnlyList<CipherSuite> CipherSuites { get; init; } = [CipherSuite.ChaCha20Poly1305, CipherSuite.Aes256Gcm];

    /// <summary>Key lifetimes.</summary>
    public RecordLimits Limits { get; init; } = new();

    /// <summary>Time for the whole handshake.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Records a link may refuse (bad tag, replay, stale key) before it is torn down.</summary>
    public int MaxRejectedRecords { get; init; } = 8;

    /// <summary>Sustained handshakes accepted per second from one source address.</summary>
    public double HandshakesPerSecondPerSource { get; init; } = 20;

    /// <summary>Burst of handshakes accepted from one source address.</summary>
    public int HandshakeBurstPerSource { get; init; } = 40;

    /// <summary>This node's certificate from a fabric CA (sent in handshakes), if it has one.</summary>
    public byte[]? Certificate { get; init; }

    /// <summary>This process's epoch, sent in handshakes.</summary>
    public ulong ProcessEpoch { get; init; } = DefaultProcessEpoch;

    /// <summary>Clock for key ages, rate limits and timestamps.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> naming the option.</summary>
    public void Validate()
    {
        if (PreSharedKey is { Length: not HandshakeProtocol.PskSize })
        {
            throw new ArgumentException($"must be {HandshakeProtocol.PskSize} bytes", nameof(PreSharedKey));
        }

        if (CipherSuites is null || CipherSuites.Count == 0 || CipherSuites.Any(s => s is not (CipherSuite.ChaCha20Poly1305 or CipherSuite.Aes256Gcm)))
        {
            throw new ArgumentException("must list one or more of ChaCha20Poly1305, Aes256Gcm", nameof(CipherSuites));
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "must be positive");
        }

        if (MaxRejectedRecords < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRejectedRecords), MaxRejectedRecords, "must be 0 or more");
        }

        if (HandshakesPerSecondPerSource <= 0 || HandshakeBurstPerSource < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakesPerSecondPerSource), "rate and burst must be positive");
        }

        if (Limits.RekeyAfterRecords >= Limits.RejectAfterRecords || Limits.RekeyAfterTime >= Limits.RejectAfterTime || Limits.RekeyAfterTime <= TimeSpan.Zero)
        {
            throw new ArgumentException("rekey limits must be positive and below the reject limits", nameof(Limits));
        }

        if (Certificate is { Length: > NodeCertificate.MaxSize })
        {
            throw new ArgumentException($"a certificate is at most {NodeCertificate.MaxSize} bytes", nameof(Certificate));
        }
    }

    internal byte OfferedSuiteMask => (byte)CipherSuites.Aggregate(0, (mask, s) => mask | (1 << ((int)s - 1)));
}
