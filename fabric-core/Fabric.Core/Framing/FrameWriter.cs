using System.Buffers.Binary;
using Fabric.Core.Sessions;

namespace Fabric.Core.Framing;

/// <summary>Writes the fixed-size frames. Each method writes header and payload into <c>destination</c> and returns the byte count.</summary>
internal static class FrameWriter
{
    public const int CreditFrameSize = FrameHeader.Size + 4;
    public const int ResetFrameSize = FrameHeader.Size + 4;
    public const int PingFrameSize = FrameHeader.Size + 8;
    public const int CloseFrameSize = FrameHeader.Size;

    public static int WriteDataHeader(Span<byte> destination, uint streamId, int payloadLength)
    {
        new FrameHeader(FrameType.Data, 0, payloadLength, streamId).Write(destination);
        return FrameHeader.Size;
    }

    public static int WriteStreamCredit(Span<byte> destination, uint streamId, uint increment)
    {
        new FrameHeader(FrameType.StreamCredit, 0, 4, streamId).Write(destination);
        BinaryPrimitives.WriteUInt32BigEndian(destination[FrameHeader.Size..], increment);
        return CreditFrameSize;
    }

    public static int WriteClose(Span<byte> destination, uint streamId)
    {
        new FrameHeader(FrameType.CloseStream, 0, 0, streamId).Write(destination);
        return CloseFrameSize;
    }

    public static int WriteReset(Span<byte> destination, uint streamId, FabricErrorCode code)
    {
        new FrameHeader(FrameType.ResetStream, 0, 4, streamId).Write(destination);
        BinaryPrimitives.WriteUInt32BigEndian(destination[FrameHeader.Size..], (uint)code);
        return ResetFrameSize;
    }

    public static int WritePing(Span<byte> destination, FrameType pingOrPong, ulong opaque)
    {
        new FrameHeader(pingOrPong, 0, 8, 0).Write(destination);
        BinaryPrimitives.WriteUInt64BigEndian(destination[FrameHeader.Size..], opaque);
        return PingFrameSize;
    }
}
