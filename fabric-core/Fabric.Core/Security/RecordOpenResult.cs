namespace Fabric.Core.Security;

/// <summary>Outcome of opening one transport record. Every outcome but <see cref="Ok"/> releases no plaintext.</summary>
public enum RecordOpenResult
{
    /// <summary>Authenticated and decrypted.</summary>
    Ok,

    /// <summary>Not a transport record, non-zero reserved bits, or a length out of bounds.</summary>
    Malformed,

    /// <summary>The link id is not this link's: a record from another (earlier) session.</summary>
    StaleLink,

    /// <summary>The key generation is neither the current one nor the next: a record under a replaced key.</summary>
    StaleGeneration,

    /// <summary>The counter was seen before, went backwards, or fell out of the replay window.</summary>
    Replayed,

    /// <summary>The counter reached the hard limit for a key.</summary>
    CounterLimit,

    /// <summary>The sender kept a key past the age limit.</summary>
    KeyExpired,

    /// <summary>The tag did not verify.</summary>
    AuthenticationFailed,
}
