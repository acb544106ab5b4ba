using System.Buffers;
using System.Buffers.Binary;
using Fabric.Core.Sessions;

namespace Fabric.Core.Framing;

/// <summary>
/// Splits frames off the front of a byte sequence. Static and synchronous: it returns false when it needs more
/// bytes, and it validates the header (type, stream id rule, length for the type, size limit) before the payload
/// is buffered, so a lying length never makes the session hold more than one frame's worth of bytes.
/// Every violation is a <see cref="FabricProtocolException"/>; no other exception escapes.
/// </summary>
internal static class FrameReader
{
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxDataPayload, out FrameHeader header, out ReadOnlySequence<byte> payload)
    {
        if (!FrameHeader.TryRead(buffer, out header))
        {
            payload = default;
            return false;
        }

        Validate(header, maxDataPayload);
        long frameLength = FrameHeader.Size + header.Length;
        if (buffer.Length < frameLength)
        {
            payload = default;
            return false;
        }

        payload = buffer.Slice(FrameHeader.Size, header.Length);
        buffer = buffer.Slice(frameLength);
        return true;
    }

    /// <summary>The structural rules of docs/PROTOCOL.md, "Frame validation".</summary>
    public static void Validate(in FrameHeader header, int maxDataPayload)
    {
        if (header.Flags != 0)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"{Name(header.Type)} with reserved flags 0x{header.Flags:x2}");
        }

        switch (header.Type)
        {
            case FrameType.Data:
                RequireStream(header);
                if (header.Length > maxDataPayload)
                {
                    throw new FabricProtocolException(FabricErrorCode.FrameSizeError, $"DATA payload {header.Length} exceeds the limit {maxDataPayload}");
                }

                break;
            case FrameType.OpenStream:
                RequireStream(header);
                RequireLength(header, OpenStreamFrame.FixedSize, OpenStreamFrame.FixedSize + OpenStreamFrame.MaxTargetBytes);
                break;
            case FrameType.StreamCredit:
                RequireLength(header, 4, 4);
                break;
            case FrameType.CloseStream:
                RequireStream(header);
                RequireLength(header, 0, 0);
                break;
            case FrameType.ResetStream:
                RequireStream(header);
                RequireLength(header, 4, 4);
                break;
            case FrameType.Ping:
            case FrameType.Pong:
                RequireSession(header);
                RequireLength(header, 8, 8);
                break;
            case FrameType.GoAway:
                RequireSession(header);
                RequireLength(header, GoAwayFrame.FixedSize, GoAwayFrame.FixedSize + GoAwayFrame.MaxReasonBytes);
                break;
            case FrameType.Hello:
                RequireSession(header);
                RequireLength(header, 4, 4 + (HelloFrame.MaxSettings * 6));
                break;
            default:
                throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"unknown frame type 0x{(byte)header.Type:x2}");
        }
    }

    public static uint ReadUInt32(in ReadOnlySequence<byte> payload)
    {
        if (payload.FirstSpan.Length >= 4)
        {
            return BinaryPrimitives.ReadUInt32BigEndian(payload.FirstSpan);
        }

        Span<byte> tmp = stackalloc byte[4];
        payload.Slice(0, 4).CopyTo(tmp);
        return BinaryPrimitives.ReadUInt32BigEndian(tmp);
    }

    public static ulong ReadUInt64(in ReadOnlySequence<byte> payload)
    {
        if (payload.FirstSpan.Length >= 8)
        {
            return BinaryPrimitives.ReadUInt64BigEndian(payload.FirstSpan);
        }

        Span<byte> tmp = stackalloc byte[8];
        payload.Slice(0, 8).CopyTo(tmp);
        return BinaryPrimitives.ReadUInt64BigEndian(tmp);
    }

    public static string Name(FrameType type) => type switch
    {
        FrameType.Data => "DATA",
        FrameType.OpenStream => "OPEN_STREAM",
        FrameType.StreamCredit => "STREAM_CREDIT",
        FrameType.CloseStream => "CLOSE_STREAM",
        FrameType.ResetStream => "RESET_STREAM",
        FrameType.Ping => "PING",
        FrameType.Pong => "PONG",
        FrameType.GoAway => "GOAWAY",
        FrameType.Hello => "HELLO",
        FrameType.SessionReady => "SESSION_READY",
        FrameType.RouteUpdate => "ROUTE_UPDATE",
        FrameType.NodePressure => "NODE_PRESSURE",
        _ => "UNKNOWN",
    };

    private static void RequireStream(in FrameHeader header)
    {
        if (header.StreamId == 0)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"{Name(header.Type)} on stream 0");
        }
    }

    private static void RequireSession(in FrameHeader header)
    {
        if (header.StreamId != 0)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"{Name(header.Type)} on stream {header.StreamId}; it belongs to stream 0");
        }
    }

    private static void RequireLength(in FrameHeader header, int min, int max)
    {
        if (header.Length < min || header.Length > max)
        {
            throw new FabricProtocolException(FabricErrorCode.FrameSizeError, $"{Name(header.Type)} length {header.Length} outside {min}..{max}");
        }
    }
}
