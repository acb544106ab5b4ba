namespace Fabric.Core.Links;

/// <summary>
/// Socket tuning of a TCP link. The defaults keep the kernel's unsent queue small (TCP_NOTSENT_LOWAT) so the
/// session's scheduler, not the socket buffer, decides what goes next: an interactive frame then waits behind
/// at most a few kilobytes of bulk data already handed to the kernel.
/// </summary>
public sealed record TcpLinkOptions
{
    /// <summary>SO_SNDBUF in bytes; 0 leaves the kernel default.</summary>
    public int SendBufferSize { get; init; } = 256 * 1024;

    /// <summary>SO_RCVBUF in bytes; 0 leaves the kernel default.</summary>
    public int ReceiveBufferSize { get; init; } = 256 * 1024;

    /// <summary>TCP_NOTSENT_LOWAT in bytes (Linux); 0 leaves it unset.</summary>
    public int NotSentLowWatermark { get; init; } = 16 * 1024;

    /// <summary>Size of the pipe segments the link reads into and writes from.</summary>
    public int PipeBufferSize { get; init; } = 256 * 1024;

    /// <summary>Time allowed to establish the TCP connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Checks every value; throws <see cref="ArgumentOutOfRangeException"/> naming the option.</summary>
    public void Validate()
    {
        if (SendBufferSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SendBufferSize), SendBufferSize, "must be 0 or positive");
        }

        if (ReceiveBufferSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ReceiveBufferSize), ReceiveBufferSize, "must be 0 or positive");
        }

        if (NotSentLowWatermark < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(NotSentLowWatermark), NotSentLowWatermark, "must be 0 or positive");
        }

        if (PipeBufferSize < 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(PipeBufferSize), PipeBufferSize, "must be at least 4096");
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "must be positive");
        }
    }
}
