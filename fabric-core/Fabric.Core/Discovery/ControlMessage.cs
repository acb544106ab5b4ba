using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Discovery;

/// <summary>Types of messages on a link's control stream (subprotocol 0x0001), docs/PROTOCOL.md §3.3.</summary>
public enum ControlMessageType : byte
{
    /// <summary>The subprotocols the sender handles.</summary>
    Manifest = 0x01,

    /// <summary>A node announcement passed on, with the sender's path to its origin.</summary>
    Announce = 0x02,

    /// <summary>The sender no longer reaches an origin.</summary>
    Withdraw = 0x03,
}

/// <summary>
/// Encodes and decodes control messages: <c>u8 type | u24 body length | body</c>. Decoding checks every length
/// and count before it allocates; any violation is a <see cref="FormatException"/>.
/// </summary>
public static class ControlMessage
{
    /// <summary>Header size.</summary>
    public const int HeaderSize = 4;

    /// <summary>Largest body.</summary>
    public const int MaxBody = NodeAnnouncement.MaxSize + 16;

    /// <summary>Encodes a MANIFEST.</summary>
    public static byte[] Manifest(SubprotocolManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (manifest.Descriptors.Count > SubprotocolManifest.MaxDescriptors)
        {
            throw new ArgumentException($"a MANIFEST lists at most {SubprotocolManifest.MaxDescriptors} subprotocols; got {manifest.Descriptors.Count}", nameof(manifest));
        }

        var body = new ArrayBufferWriter<byte>();
        Span<byte> head = body.GetSpan(2);
        BinaryPrimitives.WriteUInt16BigEndian(head, (ushort)manifest.Descriptors.Count);
        body.Advance(2);
        foreach (SubprotocolDescriptor d in manifest.Descriptors)
        {
            byte[] name = Encoding.UTF8.GetBytes(d.Name);
            if (name.Length > SubprotocolDescriptor.MaxNameBytes)
            {
                // The u8 length would wrap (or the peer would refuse the MANIFEST and drop the link).
                throw new ArgumentException($"subprotocol 0x{d.Id:x4}: a name is at most {SubprotocolDescriptor.MaxNameBytes} UTF-8 bytes", nameof(manifest));
            }

            Span<byte> s = body.GetSpan(7 + name.Length);
            BinaryPrimitives.WriteUInt16BigEndian(s, d.Id);
            s[2] = d.Version.Major;
            s[3] = d.Version.Minor;
            s[4] = d.MinCompatible.Major;
            s[5] = d.MinCompatible.Minor;
            s[6] = (byte)name.Length;
            name.CopyTo(s[7..]);
            body.Advance(7 + name.Length);
        }

        return Frame(ControlMessageType.Manifest, body.WrittenSpan);
    }

    /// <summary>Encodes an ANNOUNCE: <c>u8 hops | u32 path RTT in microseconds | announcement</c>.</summary>
    public static byte[] Announce(NodeAnnouncement announcement, int hops, TimeSpan rtt)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        var body = new byte[5 + announcement.Encoded.Length];
        body[0] = (byte)Math.Clamp(hops, 0, 255);
        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(1), (uint)Math.Clamp(rtt.TotalMicroseconds, 0, uint.MaxValue));
        announcement.Encoded.CopyTo(body, 5);
        return Frame(ControlMessageType.Announce, body);
    }

    /// <summary>Encodes a WITHDRAW: <c>32-byte origin node id</c>.</summary>
    public static byte[] Withdraw(NodeId origin) => Frame(ControlMessageType.Withdraw, origin.Bytes);

    /// <summary>Splits one message off the front of <paramref name="buffer"/>; false when more bytes are needed.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out ControlMessageType type, out ReadOnlySequence<byte> body)
    {
        type = default;
        body = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        int length = (header[1] << 16) | (header[2] << 8) | header[3];
        if (header[0] is < (byte)ControlMessageType.Manifest or > (byte)ControlMessageType.Withdraw)
        {
            throw new FormatException($"unknown control message type 0x{header[0]:x2}");
        }

        if (length > MaxBody)
        {
            throw new FormatException($"control message of {length} bytes exceeds {MaxBody}");
        }

        if (buffer.Length < HeaderSize + length)
        {
            return false;
        }

        type = (ControlMessageType)header[0];
        body = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(HeaderSize + length);
        return true;
    }

    /// <summary>Decodes a MANIFEST body.</summary>
    public static SubprotocolManifest ReadManifest(ReadOnlySpan<byte> body)
    {
        if (body.Length < 2)
        {
            throw new FormatException("MANIFEST too short");
        }

        int count = BinaryPrimitives.ReadUInt16BigEndian(body);
        if (count > SubprotocolManifest.MaxDescriptors)
        {
            throw new FormatException($"MANIFEST lists {count} subprotocols; the limit is {SubprotocolManifest.MaxDescriptors}");
        }

        var list = new List<SubprotocolDescriptor>(count);
        int offset = 2;
        var strict = new UTF8Encoding(false, true);
        for (int i = 0; i < count; i++)
        {
            if (body.Length - offset < 7)
            {
                throw new FormatException("MANIFEST truncated");
            }

            ReadOnlySpan<byte> d = body[offset..];
            int nameLength = d[6];
            if (nameLength > SubprotocolDescriptor.MaxNameBytes || d.Length < 7 + nameLength)
            {
                throw new FormatException("MANIFEST name length out of range");
            }

            string name;
            try
            {
                name = strict.GetString(d.Slice(7, nameLength));
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException("MANIFEST name is not UTF-8", ex);
            }

            list.Add(new SubprotocolDescriptor(BinaryPrimitives.ReadUInt16BigEndian(d), name, new SubprotocolVersion(d[2], d[3]), new SubprotocolVersion(d[4], d[5])));
            offset += 7 + nameLength;
        }

        if (offset != body.Length)
        {
            throw new FormatException("trailing bytes after MANIFEST");
        }

        return new SubprotocolManifest(list);
    }

    /// <summary>Decodes an ANNOUNCE body.</summary>
    public static (NodeAnnouncement Announcement, int Hops, TimeSpan Rtt) ReadAnnounce(ReadOnlySpan<byte> body)
    {
        if (body.Length < 5)
        {
            throw new FormatException("ANNOUNCE too short");
        }

        return (NodeAnnouncement.Parse(body[5..]), body[0], TimeSpan.FromMicroseconds(BinaryPrimitives.ReadUInt32BigEndian(body[1..])));
    }

    /// <summary>Decodes a WITHDRAW body.</summary>
    public static NodeId ReadWithdraw(ReadOnlySpan<byte> body)
    {
        if (body.Length != NodeId.Size)
        {
            throw new FormatException("WITHDRAW must carry a 32-byte node id");
        }

        return NodeId.FromBytes(body);
    }

    private static byte[] Frame(ControlMessageType type, ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxBody)
        {
            throw new ArgumentException($"control message body of {body.Length} bytes exceeds {MaxBody}");
        }

        var message = new byte[HeaderSize + body.Length];
        message[0] = (byte)type;
        message[1] = (byte)(body.Length >> 16);
        message[2] = (byte)(body.Length >> 8);
        message[3] = (byte)body.Length;
        body.CopyTo(message.AsSpan(HeaderSize));
        return message;
    }
}
