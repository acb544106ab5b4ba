using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Fabric.Core.Sessions;

namespace Fabric.Core.Framing;

/// <summary>
/// GOAWAY payload (stream id 0):
/// <code>
/// +--------+--------+--------+--------+--------+--------+--------+--------+----------------------+
/// |          last stream id           |            error code             | reason (UTF-8, rest) |
/// +--------+--------+--------+--------+--------+--------+--------+--------+----------------------+
/// </code>
/// Last stream id is the highest stream id opened by the receiver of this GOAWAY that the sender processed.
/// </summary>
internal readonly record struct GoAwayFrame(uint LastStreamId, FabricErrorCode Code, string Reason)
{
    public const int FixedSize = 8;
    public const int MaxReasonBytes = 256;

    public int WriteTo(Span<byte> destination)
    {
        string reason = Truncate(Reason);
        int reasonLength = Encoding.UTF8.GetBytes(reason, destination[(FrameHeader.Size + FixedSize)..]);
        int payload = FixedSize + reasonLength;
        new FrameHeader(FrameType.GoAway, 0, payload, 0).Write(destination);
        BinaryPrimitives.WriteUInt32BigEndian(destination[FrameHeader.Size..], LastStreamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(FrameHeader.Size + 4)..], (uint)Code);
        return FrameHeader.Size + payload;
    }

    public static int MaxFrameSize => FrameHeader.Size + FixedSize + MaxReasonBytes;

    public static GoAwayFrame Parse(in ReadOnlySequence<byte> payload)
    {
        if (payload.Length < FixedSize || payload.Length > FixedSize + MaxReasonBytes)
        {
            throw new FabricProtocolException(FabricErrorCode.FrameSizeError, "GOAWAY length out of range");
        }

        Span<byte> fixedPart = stackalloc byte[FixedSize];
        payload.Slice(0, FixedSize).CopyTo(fixedPart);
        // The reason is diagnostic text from the peer: decode leniently (invalid bytes become U+FFFD).
        string reason = payload.Length == FixedSize ? string.Empty : Encoding.UTF8.GetString(payload.Slice(FixedSize));
        return new GoAwayFrame(
            BinaryPrimitives.ReadUInt32BigEndian(fixedPart),
            (FabricErrorCode)BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]),
            reason);
    }

    /// <summary>Cuts a reason to at most <see cref="MaxReasonBytes"/> UTF-8 bytes without splitting a character.</summary>
    public static string Truncate(string reason)
    {
        if (Encoding.UTF8.GetByteCount(reason) <= MaxReasonBytes)
        {
            return reason;
        }

        int length = Math.Min(reason.Length, MaxReasonBytes);
        while (length > 0 && Encoding.UTF8.GetByteCount(reason.AsSpan(0, length)) > MaxReasonBytes)
        {
            length--;
        }

        if (length > 0 && char.IsHighSurrogate(reason[length - 1]))
        {
            length--;
        }

        return reason[..length];
    }
}
