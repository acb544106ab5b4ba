using Fabric.Core.Framing;

namespace Fabric.Core.Sessions;

/// <summary>Limits and tuning of one fabric session. Every value a peer can push against has a bound here.</summary>
public sealed record FabricSessionOptions
{
    /// <summary>Largest DATA payload this side accepts and sends (1024..65535). Smaller frames bound how long a bulk frame delays an interactive one.</summary>
    public int MaxFramePayload { get; init; } = 16 * 1024;

    /// <summary>Streams opened by the peer that may be open at once; further opens are refused with REFUSED_STREAM.</summary>
    public int MaxConcurrentStreams { get; init; } = 4096;

    /// <summary>Initial receive window of each stream.</summary>
    public int InitialStreamWindow { get; init; } = 256 * 1024;

    /// <summary>Largest receive window a stream may auto-tune to.</summary>
    public int MaxStreamWindow { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Session receive window: the memory budget for data received but not yet read by the application, across all
    /// streams. Credit returns to the peer as the application reads. Window growth of all streams together is held
    /// to half of it, so one stream that stops reading cannot take the whole session.
    /// </summary>
    public int SessionWindow { get; init; } = 64 * 1024 * 1024;

    /// <summary>Bytes a stream buffers for sending before <c>WriteAsync</c> waits.</summary>
    public int StreamSendBufferSize { get; init; } = 256 * 1024;

    /// <summary>Incoming streams waiting for <c>AcceptStreamAsync</c>; beyond it opens are refused.</summary>
    public int AcceptBacklog { get; init; } = 1024;

    /// <summary>Bytes of frames the writer packs before one flush to the link.</summary>
    public int FlushThreshold { get; init; } = 64 * 1024;

    /// <summary>Outbound control frames (credit, pong, reset) allowed to queue before the session is dropped as a peer that does not read.</summary>
    public int MaxPendingControlFrames { get; init; } = 8192;

    /// <summary>Time for the peer's HELLO to arrive.</summary>
    public TimeSpan HelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A session that receives nothing for this long is closed (the keepalive PINGs keep a live one busy). Zero disables.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Interval of PINGs that measure RTT and keep the session alive.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A PING unanswered this long ends the session (TIMEOUT): a link that went silent (a dead peer, a black-holed
    /// path) is detected in seconds rather than after <see cref="IdleTimeout"/>. PONGs are control frames and jump
    /// every data queue, so a live peer answers well within it even under load.
    /// </summary>
    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a GOAWAY drain may last before the remaining streams are reset.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When true, a read on an <see cref="TrafficClass.Interactive"/> stream completes on the session's read loop
    /// (no thread hand-off), so an echo or request/response path answers without queuing behind bulk work in the
    /// thread pool. Code awaiting such a read must not block. Other classes always resume on the thread pool.
    /// </summary>
    public bool InlineInteractiveCompletions { get; init; } = true;

    /// <summary>Per-second caps on cheap-to-send frames.</summary>
    public FloodLimits Flood { get; init; } = new();

    /// <summary>Clock for timeouts and RTT; tests substitute their own.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Checks every value; throws <see cref="ArgumentOutOfRangeException"/> naming the option.</summary>
    public void Validate()
    {
        Range(nameof(MaxFramePayload), MaxFramePayload, SessionSettings.MinFramePayload, FrameHeader.MaxPayload);
        Range(nameof(MaxConcurrentStreams), MaxConcurrentStreams, 1, 1 << 20);
        Range(nameof(InitialStreamWindow), InitialStreamWindow, MaxFramePayload, int.MaxValue);
        Range(nameof(MaxStreamWindow), MaxStreamWindow, InitialStreamWindow, int.MaxValue);
        Range(nameof(SessionWindow), SessionWindow, InitialStreamWindow, int.MaxValue);
        Range(nameof(StreamSendBufferSize), StreamSendBufferSize, 1024, 1 << 30);
        Range(nameof(AcceptBacklog), AcceptBacklog, 1, 1 << 20);
        Range(nameof(FlushThreshold), FlushThreshold, MaxFramePayload, 16 * 1024 * 1024);
        Range(nameof(MaxPendingControlFrames), MaxPendingControlFrames, 64, 1 << 24);
        Positive(nameof(HelloTimeout), HelloTimeout);
        Positive(nameof(PingInterval), PingInterval);
        Positive(nameof(PingTimeout), PingTimeout);
        Positive(nameof(DrainTimeout), DrainTimeout);
        if (IdleTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(IdleTimeout), IdleTimeout, "must be zero (disabled) or positive");
        }

        ArgumentNullException.ThrowIfNull(Flood, nameof(Flood));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }

    private static void Range(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"must be between {min} and {max}");
        }
    }

    private static void Positive(string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "must be positive");
        }
    }
}
