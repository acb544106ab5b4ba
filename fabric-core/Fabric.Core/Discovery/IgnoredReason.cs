namespace Fabric.Core.Discovery;

/// <summary>Why an announcement or withdrawal was not taken (each is counted).</summary>
public enum IgnoredReason
{
    /// <summary>Does not parse, or breaks a limit (absurd counts, lengths, values).</summary>
    Malformed,

    /// <summary>The origin's signature does not verify.</summary>
    BadSignature,

    /// <summary>The origin is not trusted (not pinned, no valid certificate, revoked).</summary>
    Untrusted,

    /// <summary>It lists a service the directory does not know (when a service list is configured).</summary>
    UnknownService,

    /// <summary>The directory is full.</summary>
    TooManyOrigins,

    /// <summary>It travelled too many hops.</summary>
    TooManyHops,

    /// <summary>It claims to come from this node.</summary>
    ClaimsToBeSelf,

    /// <summary>An older sequence than the one held (normal during propagation races; not a lie).</summary>
    Stale,
}
