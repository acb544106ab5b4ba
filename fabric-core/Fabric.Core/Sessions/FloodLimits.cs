namespace Fabric.Core.Sessions;

/// <summary>Per-second caps on frames a peer can send cheaply but that cost this side work. Exceeding one is GOAWAY ENHANCE_YOUR_CALM.</summary>
public sealed record FloodLimits
{
    /// <summary>PING frames per second (this side sends about one a second).</summary>
    public int MaxPingsPerSecond { get; init; } = 100;

    /// <summary>RESET_STREAM frames per second (rapid-reset guard).</summary>
    public int MaxResetsPerSecond { get; init; } = 2000;

    /// <summary>Zero-length DATA frames per second (they carry nothing; this side never sends them).</summary>
    public int MaxEmptyDataPerSecond { get; init; } = 100;

    /// <summary>Stream opens this side had to refuse (limit reached, draining), per second.</summary>
    public int MaxRefusedOpensPerSecond { get; init; } = 1000;

    /// <summary>All non-DATA frames per second.</summary>
    public int MaxControlFramesPerSecond { get; init; } = 100_000;
}
