using System.Buffers;
using System.Buffers.Binary;

namespace Fabric.Core.Framing;

/// <summary>
/// The fixed 8-byte frame header, big-endian:
/// <code>
///  0        1        2        3        4        5        6        7
/// +--------+--------+--------+--------+--------+--------+--------+--------+
/// |  type  | flags  |  payload length |            stream id              |
/// +--------+--------+--------+--------+--------+--------+--------+--------+
/// </code>
/// </summary>
internal readonly record struct FrameHeader(FrameType Type, byte Flags, int Length, uint StreamId)
{
    public const int Size = 8;

    /// <summary>The largest payload the 16-bit length field can describe.</summary>
    public const int MaxPayload = ushort.MaxValue;

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Type;
        destination[1] = Flags;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
    }

    public static FrameHeader Read(ReadOnlySpan<byte> source) => new(
        (FrameType)source[0],
        source[1],
        BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
        BinaryPrimitives.ReadUInt32BigEndian(source[4..]));

    /// <summary>Reads a header from the front of <paramref name="buffer"/>; false when fewer than 8 bytes are buffered.</summary>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out FrameHeader header)
    {
        if (buffer.Length < Size)
        {
            header = default;
            return false;
        }

        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= Size)
        {
            header = Read(first);
        }
        else
        {
            Span<byte> tmp = stackalloc byte[Size];
            buffer.Slice(0, Size).CopyTo(tmp);
            header = Read(tmp);
        }

        return true;
    }
}
