using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Fabric.Core.Sessions;

namespace Fabric.Core.Framing;

/// <summary>
/// OPEN_STREAM payload:
/// <code>
///  0        1        2        3        4        5        6        7        8        9 ...
/// +--------+--------+--------+--------+--------+--------+--------+--------+--------+------------------+
/// |   subprotocol   | class  | rsvd=0 |          initial credit           | tlen   | target (tlen B)  |
/// +--------+--------+--------+--------+--------+--------+--------+--------+--------+------------------+
/// </code>
/// Initial credit is how many bytes the opener lets the acceptor send on this stream before STREAM_CREDIT.
/// The target is the UTF-8 service name the stream is for (may be empty).
/// </summary>
internal readonly record struct OpenStreamFrame(uint StreamId, ushort Subprotocol, TrafficClass Class, uint InitialCredit, string Target)
{
    public const int FixedSize = 9;
    public const int MaxTargetBytes = 255;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public int PayloadLength => FixedSize + Encoding.UTF8.GetByteCount(Target);

    public int WriteTo(Span<byte> destination)
    {
        int targetLength = StrictUtf8.GetBytes(Target, destination[(FrameHeader.Size + FixedSize)..]);
        int payload = FixedSize + targetLength;
        new FrameHeader(FrameType.OpenStream, 0, payload, StreamId).Write(destination);
        Span<byte> p = destination[FrameHeader.Size..];
        BinaryPrimitives.WriteUInt16BigEndian(p, Subprotocol);
        p[2] = (byte)Class;
        p[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(p[4..], InitialCredit);
        p[8] = (byte)targetLength;
        return FrameHeader.Size + payload;
    }

    public static OpenStreamFrame Parse(in FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (payload.Length < FixedSize)
        {
            throw new FabricProtocolException(FabricErrorCode.FrameSizeError, "OPEN_STREAM shorter than its fixed part");
        }

        Span<byte> fixedPart = stackalloc byte[FixedSize];
        payload.Slice(0, FixedSize).CopyTo(fixedPart);
        int targetLength = fixedPart[8];
        if (payload.Length != FixedSize + targetLength)
        {
            throw new FabricProtocolException(FabricErrorCode.FrameSizeError, "OPEN_STREAM target length does not match the frame length");
        }

        if (fixedPart[2] > (byte)TrafficClass.Droppable)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"OPEN_STREAM with unknown traffic class {fixedPart[2]}");
        }

        if (fixedPart[3] != 0)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, "OPEN_STREAM reserved byte is not zero");
        }

        uint credit = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]);
        if (credit > FlowLimits.MaxWindow)
        {
            throw new FabricProtocolException(FabricErrorCode.FlowControlError, "OPEN_STREAM initial credit above 2^31-1");
        }

        string target;
        try
        {
            target = targetLength == 0 ? string.Empty : StrictUtf8.GetString(payload.Slice(FixedSize, targetLength));
        }
        catch (DecoderFallbackException)
        {
            throw new FabricProtocolException(FabricErrorCode.ProtocolError, "OPEN_STREAM target is not valid UTF-8");
        }

        return new OpenStreamFrame(header.StreamId, BinaryPrimitives.ReadUInt16BigEndian(fixedPart), (TrafficClass)fixedPart[2], credit, target);
    }

    public static void ValidateTarget(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        int count;
        try
        {
            count = StrictUtf8.GetByteCount(target);
        }
        catch (EncoderFallbackException ex)
        {
            throw new ArgumentException("The stream target is not valid Unicode.", nameof(target), ex);
        }

        if (count > MaxTargetBytes)
        {
            throw new ArgumentException($"The stream target is {count} UTF-8 bytes; the limit is {MaxTargetBytes}.", nameof(target));
        }
    }
}
