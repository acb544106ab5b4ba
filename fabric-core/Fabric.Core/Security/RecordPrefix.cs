using System.Buffers.Binary;

namespace Fabric.Core.Security;

/// <summary>
/// The 8-byte prefix every secure-link record starts with:
/// <code>
///  0        1        2        3        4        5        6        7
/// +--------+--------+--------+--------+--------+--------+--------+--------+
/// |  type  |  gen   |  reserved = 0   |          body length (u32)        |
/// +--------+--------+--------+--------+--------+--------+--------+--------+
/// </code>
/// gen is the key generation of a transport record (0 for handshake records).
/// </summary>
internal readonly record struct RecordPrefix(SecureRecordType Type, byte Generation, ushort Reserved, uint BodyLength)
{
    public const int Size = 8;

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Type;
        destination[1] = Generation;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], Reserved);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], BodyLength);
    }

    public static RecordPrefix Read(ReadOnlySpan<byte> source) => new(
        (SecureRecordType)source[0],
        source[1],
        BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
        BinaryPrimitives.ReadUInt32BigEndian(source[4..]));
}
