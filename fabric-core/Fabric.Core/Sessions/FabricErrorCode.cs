namespace Fabric.Core.Sessions;

/// <summary>
/// Error codes carried by GOAWAY (session scope) and RESET_STREAM (stream scope). 32 bits on the wire.
/// 0x00-0x0F transport, 0x10-0x1F routing and subprotocols, 0x100 and above are left to subprotocols.
/// </summary>
public enum FabricErrorCode : uint
{
    /// <summary>Graceful: GOAWAY drain or a stream closed normally.</summary>
    NoError = 0x00,

    /// <summary>The peer broke a protocol rule (bad frame, wrong stream id, duplicate open, bad setting).</summary>
    ProtocolError = 0x01,

    /// <summary>This side failed for a reason of its own.</summary>
    InternalError = 0x02,

    /// <summary>The peer sent more than the credit it was given, or overflowed a window.</summary>
    FlowControlError = 0x03,

    /// <summary>A frame was longer than the negotiated limit or had the wrong length for its type.</summary>
    FrameSizeError = 0x04,

    /// <summary>A frame arrived for a stream that is already closed.</summary>
    StreamClosed = 0x05,

    /// <summary>The stream was refused before any processing (limit reached, draining); safe to retry elsewhere.</summary>
    RefusedStream = 0x06,

    /// <summary>The stream is no longer wanted by one side.</summary>
    Cancel = 0x07,

    /// <summary>The peer is flooding (pings, resets, empty frames, control frames).</summary>
    EnhanceYourCalm = 0x08,

    /// <summary>Nothing was received for longer than the idle timeout, or the HELLO exchange did not finish in time.</summary>
    Timeout = 0x09,

    /// <summary>The link under the session failed (local only: never sent on the wire).</summary>
    LinkLost = 0x0A,

    /// <summary>The destination has no handler for the stream's subprotocol id.</summary>
    UnknownSubprotocol = 0x10,

    /// <summary>The destination handles the subprotocol but not at a compatible version.</summary>
    IncompatibleSubprotocol = 0x11,

    /// <summary>No reachable replica of the target service.</summary>
    NoRoute = 0x12,

    /// <summary>Access policy refuses this stream.</summary>
    AccessDenied = 0x13,
}
