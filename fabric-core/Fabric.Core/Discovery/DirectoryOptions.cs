namespace Fabric.Core.Discovery;

/// <summary>Limits and timing of the service directory.</summary>
public sealed record DirectoryOptions
{
    /// <summary>Most origins (nodes) the directory holds; announcements of further ones are ignored and counted.</summary>
    public int MaxOrigins { get; init; } = 100_000;

    /// <summary>Announcements that travelled more hops than this are ignored (bounds routing loops).</summary>
    public int MaxHops { get; init; } = 16;

    /// <summary>Longest TTL believed, whatever an origin asks for.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>TTL of this node's own announcements; it re-announces every third of it.</summary>
    public TimeSpan AnnouncementTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>When set, replicas of services not listed here are ignored and counted.</summary>
    public IReadOnlySet<string>? KnownServices { get; init; }

    /// <summary>Control messages accepted per second from one neighbor before it is cut off.</summary>
    public int MaxMessagesPerSecondPerNeighbor { get; init; } = 50_000;

    /// <summary>Clock for expiry.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
