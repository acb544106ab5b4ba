using System.Buffers.Binary;
using System.Net;
using System.Text;
using Fabric.Core.Subprotocols;

namespace Fabric.Core.Routing;

/// <summary>
/// The first bytes of every routed stream (inside the end-to-end encryption when relayed): which subprotocol at which
/// versions, which service and which of its instances on the destination node, and the client address the stream is
/// for (for access policy and forwarded headers).
/// <code>
/// u8 version=2 | u16 subprotocol | u8 major | u8 minor | u8 min major | u8 min minor | u8 service length | service
/// | u8 instance length | instance | u8 address length (0, 4, 16) | address | u16 port
/// </code>
/// Version 1 (no instance field: any instance of the service) is still read.
/// </summary>
public sealed record RoutePreamble(ushort Subprotocol, SubprotocolVersion Version, SubprotocolVersion MinCompatible, string Service, IPEndPoint? Source, string Instance = "")
{
    private const byte FormatVersion = 2;
    private const byte FormatVersionWithoutInstance = 1;

    /// <summary>Largest encoded preamble.</summary>
    public const int MaxSize = 8 + 255 + 1 + 255 + 1 + 16 + 2;

    /// <summary>Encodes the preamble.</summary>
    public byte[] Encode()
    {
        byte[] service = Encoding.UTF8.GetBytes(Service);
        if (service.Length is 0 or > 255)
        {
            throw new ArgumentException("a service name is 1..255 UTF-8 bytes");
        }

        byte[] instance = Encoding.UTF8.GetBytes(Instance);
        if (instance.Length > 255)
        {
            throw new ArgumentException("an instance name is 0..255 UTF-8 bytes");
        }

        byte[] address = Source?.Address.GetAddressBytes() ?? [];
        var bytes = new byte[8 + service.Length + 1 + instance.Length + 1 + address.Length + 2];
        bytes[0] = FormatVersion;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(1), Subprotocol);
        bytes[3] = Version.Major;
        bytes[4] = Version.Minor;
        bytes[5] = MinCompatible.Major;
        bytes[6] = MinCompatible.Minor;
        bytes[7] = (byte)service.Length;
        service.CopyTo(bytes, 8);
        int offset = 8 + service.Length;
        bytes[offset] = (byte)instance.Length;
        instance.CopyTo(bytes, offset + 1);
        offset += 1 + instance.Length;
        bytes[offset] = (byte)address.Length;
        address.CopyTo(bytes, offset + 1);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(offset + 1 + address.Length), (ushort)(Source?.Port ?? 0));
        return bytes;
    }

    /// <summary>Reads a preamble from the start of <paramref name="stream"/>; throws <see cref="FormatException"/> or <see cref="EndOfStreamException"/>.</summary>
    public static async ValueTask<RoutePreamble> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] head = new byte[8];
        await stream.ReadExactlyAsync(head, cancellationToken).ConfigureAwait(false);
        if (head[0] is not (FormatVersion or FormatVersionWithoutInstance))
        {
            throw new FormatException($"unknown route preamble version {head[0]}");
        }

        var strict = new UTF8Encoding(false, true);
        int serviceLength = head[7];
        byte[] rest = new byte[serviceLength + 1];
        await stream.ReadExactlyAsync(rest, cancellationToken).ConfigureAwait(false);
        string instance = "";
        if (head[0] == FormatVersion)
        {
            byte[] instanceBytes = new byte[rest[serviceLength] + 1]; // the instance, then the address length
            await stream.ReadExactlyAsync(instanceBytes, cancellationToken).ConfigureAwait(false);
            instance = Decode(strict, instanceBytes.AsSpan(0, instanceBytes.Length - 1), "instance");
            rest[serviceLength] = instanceBytes[^1];
        }

        int addressLength = rest[serviceLength];
        if (addressLength is not (0 or 4 or 16) || serviceLength == 0)
        {
            throw new FormatException("route preamble address or service length out of range");
        }

        byte[] tail = new byte[addressLength + 2];
        await stream.ReadExactlyAsync(tail, cancellationToken).ConfigureAwait(false);
        string service = Decode(strict, rest.AsSpan(0, serviceLength), "service");
        IPEndPoint? source = addressLength == 0 ? null : new IPEndPoint(new IPAddress(tail.AsSpan(0, addressLength)), BinaryPrimitives.ReadUInt16BigEndian(tail.AsSpan(addressLength)));
        return new RoutePreamble(BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(1)), new SubprotocolVersion(head[3], head[4]), new SubprotocolVersion(head[5], head[6]), service, source, instance);
    }

    private static string Decode(UTF8Encoding strict, ReadOnlySpan<byte> bytes, string field)
    {
        try
        {
            return strict.GetString(bytes);
        }
        catch (DecoderFallbackException ex)
        {
            throw new FormatException($"route preamble {field} is not UTF-8", ex);
        }
    }
}
