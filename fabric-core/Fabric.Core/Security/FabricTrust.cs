namespace Fabric.Core.Security;

/// <summary>Why a peer was not trusted.</summary>
public enum TrustFailure
{
    /// <summary>Trusted.</summary>
    None,

    /// <summary>Neither pinned nor carrying a certificate from a trusted CA.</summary>
    UnknownNode,

    /// <summary>The node id or the certificate serial is on the revocation list.</summary>
    Revoked,

    /// <summary>The certificate does not parse.</summary>
    CertificateMalformed,

    /// <summary>The certificate is for another key than the one the peer proved in the handshake.</summary>
    CertificateKeyMismatch,

    /// <summary>No trusted CA issued the certificate, or its signature is wrong.</summary>
    CertificateUntrusted,

    /// <summary>The certificate is not valid yet.</summary>
    CertificateNotYetValid,

    /// <summary>The certificate has expired.</summary>
    CertificateExpired,
}

/// <summary>The outcome of checking a peer.</summary>
public sealed record TrustDecision(NodeId NodeId, TrustFailure Failure, string? Name, IReadOnlyList<string> Roles)
{
    /// <summary>True when the peer may hold a link.</summary>
    public bool Accepted => Failure == TrustFailure.None;
}

/// <summary>
/// Which peers a node accepts: pinned public keys, and certificates issued by trusted fabric CAs, minus a
/// revocation list of node ids and certificate serials. Immutable; replace it to reload (existing links stay).
/// </summary>
public sealed class FabricTrust
{
    private readonly HashSet<NodeId> _pinned;
    private readonly List<byte[]> _authorities;
    private readonly HashSet<NodeId> _revokedNodes;
    private readonly HashSet<ulong> _revokedSerials;
    private readonly TimeProvider _time;

    /// <summary>Creates a policy.</summary>
    public FabricTrust(IEnumerable<byte[]>? pinnedPublicKeys = null, IEnumerable<byte[]>? certificateAuthorities = null, IEnumerable<NodeId>? revokedNodes = null, IEnumerable<ulong>? revokedSerials = null, TimeProvider? time = null)
    {
        _pinned = [.. (pinnedPublicKeys ?? []).Select(k => NodeId.FromPublicKey(k))];
        _authorities = [.. certificateAuthorities ?? []];
        if (_authorities.Any(ca => !PublicKeys.IsValid(ca)))
        {
            // Checked here: a bad CA key would otherwise throw from Evaluate, inside a handshake.
            throw new ArgumentException("a CA public key is a P-256 point (65 bytes, 0x04 || X || Y)", nameof(certificateAuthorities));
        }

        _revokedNodes = [.. revokedNodes ?? []];
        _revokedSerials = [.. revokedSerials ?? []];
        _time = time ?? TimeProvider.System;
    }

    /// <summary>A copy of this policy that also pins <paramref name="publicKey"/> (a node always trusts its own key).</summary>
    public FabricTrust WithPinnedKey(byte[] publicKey)
    {
        var copy = new FabricTrust(null, _authorities, _revokedNodes, _revokedSerials, _time);
        copy._pinned.UnionWith(_pinned);
        copy._pinned.Add(NodeId.FromPublicKey(publicKey));
        return copy;
    }

    /// <summary>True when at least one CA is trusted (nodes then send their certificate in handshakes).</summary>
    public bool UsesCertificates => _authorities.Count > 0;

    /// <summary>Decides whether the peer that proved <paramref name="staticPublicKey"/> may hold a link.</summary>
    public TrustDecision Evaluate(ReadOnlySpan<byte> staticPublicKey, ReadOnlySpan<byte> certificate)
    {
        NodeId id = NodeId.FromPublicKey(staticPublicKey);
        if (_revokedNodes.Contains(id))
        {
            return new TrustDecision(id, TrustFailure.Revoked, null, []);
        }

        NodeCertificate? cert = null;
        TrustFailure certFailure = TrustFailure.UnknownNode;
        if (!certificate.IsEmpty)
        {
            try
            {
                cert = NodeCertificate.Parse(certificate);
                certFailure = CheckCertificate(cert, staticPublicKey);
            }
            catch (FormatException)
            {
                certFailure = TrustFailure.CertificateMalformed;
            }
        }

        if (certFailure == TrustFailure.None)
        {
            return new TrustDecision(id, TrustFailure.None, cert!.Name, cert.Roles);
        }

        if (_pinned.Contains(id) && certFailure != TrustFailure.Revoked)
        {
            // The pin admits the peer; the name and roles of a certificate that did not verify are not vouched for.
            return new TrustDecision(id, TrustFailure.None, null, []);
        }

        return new TrustDecision(id, certFailure, cert?.Name, []);
    }

    private TrustFailure CheckCertificate(NodeCertificate cert, ReadOnlySpan<byte> staticPublicKey)
    {
        if (!cert.PublicKey.AsSpan().SequenceEqual(staticPublicKey))
        {
            return TrustFailure.CertificateKeyMismatch;
        }

        if (_revokedSerials.Contains(cert.Serial))
        {
            return TrustFailure.Revoked;
        }

        if (!_authorities.Any(cert.VerifySignature))
        {
            return TrustFailure.CertificateUntrusted;
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (now < cert.NotBefore)
        {
            return TrustFailure.CertificateNotYetValid;
        }

        return now > cert.NotAfter ? TrustFailure.CertificateExpired : TrustFailure.None;
    }
}
