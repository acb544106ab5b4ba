namespace Fabric.Core.Framing;

/// <summary>Session frame types (docs/PROTOCOL.md, "Frame types"). One byte on the wire.</summary>
internal enum FrameType : byte
{
    Data = 0x00,
    OpenStream = 0x01,
    StreamCredit = 0x02,
    CloseStream = 0x03,
    ResetStream = 0x04,
    Ping = 0x05,
    Pong = 0x06,
    GoAway = 0x07,
    Hello = 0x08,

    // Reserved: assigned by later protocol revisions; receiving one today is a PROTOCOL_ERROR.
    SessionReady = 0x09,
    RouteUpdate = 0x0A,
    NodePressure = 0x0B,
}
