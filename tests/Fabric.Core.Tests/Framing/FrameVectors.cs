namespace Fabric.Core.Tests.Framing;

/// <summary>
/// Known-answer frames, derived by hand from the wire format: an 8-byte big-endian header
/// (type u8 | flags u8 | payload length u16 | stream id u32) followed by the payload. Each constant is the exact
/// frame as uppercase hex, written as one literal per wire field (the comment names the fields). Suitable for copying into docs/PROTOCOL.md.
/// </summary>
public static class FrameVectors
{
    /// <summary>
    /// DATA, stream 1, payload "hi".
    /// <c>00 | 00 | 0002 | 00000001 || 68 69</c>
    /// </summary>
    public const string Data = "00" + "00" + "0002" + "00000001" + "6869";

    /// <summary>
    /// OPEN_STREAM, stream 1, subprotocol 0x0100, class Interactive (1), initial credit 262144, target "orders".
    /// Payload length 9 + 6 = 15.
    /// <c>01 | 00 | 000F | 00000001 || 0100 (subprotocol) | 01 (class) | 00 (reserved) | 00040000 (credit) | 06 (tlen) | 6F 72 64 65 72 73 ("orders")</c>
    /// </summary>
    public const string OpenStream = "01" + "00" + "000F" + "00000001" + "0100" + "01" + "00" + "00040000" + "06" + "6F7264657273";

    /// <summary>
    /// STREAM_CREDIT, stream 0 (the session window), increment 65536.
    /// <c>02 | 00 | 0004 | 00000000 || 00010000</c>
    /// </summary>
    public const string StreamCredit = "02" + "00" + "0004" + "00000000" + "00010000";

    /// <summary>
    /// CLOSE_STREAM, stream 3, empty payload.
    /// <c>03 | 00 | 0000 | 00000003</c>
    /// </summary>
    public const string CloseStream = "03" + "00" + "0000" + "00000003";

    /// <summary>
    /// RESET_STREAM, stream 5, error code CANCEL (0x07).
    /// <c>04 | 00 | 0004 | 00000005 || 00000007</c>
    /// </summary>
    public const string ResetStream = "04" + "00" + "0004" + "00000005" + "00000007";

    /// <summary>
    /// PING, stream 0, opaque 0x0102030405060708.
    /// <c>05 | 00 | 0008 | 00000000 || 0102030405060708</c>
    /// </summary>
    public const string Ping = "05" + "00" + "0008" + "00000000" + "0102030405060708";

    /// <summary>
    /// PONG, stream 0, opaque 0x0102030405060708 (the answer to <see cref="Ping"/>).
    /// <c>06 | 00 | 0008 | 00000000 || 0102030405060708</c>
    /// </summary>
    public const string Pong = "06" + "00" + "0008" + "00000000" + "0102030405060708";

    /// <summary>
    /// GOAWAY, stream 0, last stream id 7, NO_ERROR (0), reason "bye". Payload length 8 + 3 = 11.
    /// <c>07 | 00 | 000B | 00000000 || 00000007 (last stream) | 00000000 (code) | 62 79 65 ("bye")</c>
    /// </summary>
    public const string GoAway = "07" + "00" + "000B" + "00000000" + "00000007" + "00000000" + "627965";

    /// <summary>
    /// HELLO, stream 0, version 1, four settings (id u16, value u32): MAX_FRAME_PAYLOAD (1) = 16384,
    /// MAX_CONCURRENT_STREAMS (2) = 4096, INITIAL_STREAM_WINDOW (3) = 262144, SESSION_WINDOW (4) = 67108864.
    /// Payload length 4 + 4 x 6 = 28.
    /// <c>08 | 00 | 001C | 00000000 || 0001 (version) | 0004 (count) | 0001 00004000 | 0002 00001000 | 0003 00040000 | 0004 04000000</c>
    /// </summary>
    public const string Hello = "08" + "00" + "001C" + "00000000" + "0001" + "0004" + "0001" + "00004000" + "0002" + "00001000" + "0003" + "00040000" + "0004" + "04000000";
}
