using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Fabric.Plugins.Grpc;

/// <summary>gRPC over HTTP/2 details (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md).</summary>
public static class GrpcWire
{
    /// <summary>Bytes before each message: a compressed flag and a 32-bit big-endian length.</summary>
    public const int PrefixLength = 5;

    /// <summary>The flag bit that marks a gRPC-Web trailers frame.</summary>
    public const byte TrailersFlag = 0x80;

    /// <summary>True for <c>application/grpc</c> and <c>application/grpc+subtype</c> / <c>;params</c>.</summary>
    public static bool IsGrpc(string? contentType) => HasMediaType(contentType, "application/grpc");

    /// <summary>True for <c>application/grpc-web</c> (binary) and its <c>+proto</c> forms.</summary>
    public static bool IsGrpcWeb(string? contentType) => HasMediaType(contentType, "application/grpc-web");

    /// <summary>True for <c>application/grpc-web-text</c> (base64) and its <c>+proto</c> forms.</summary>
    public static bool IsGrpcWebText(string? contentType) => HasMediaType(contentType, "application/grpc-web-text");

    /// <summary>The gRPC service and method of a request path <c>/package.Service/Method</c>.</summary>
    public static bool TryParsePath(string? path, out string service, out string method)
    {
        service = method = "";
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            return false;
        }

        int slash = path.IndexOf('/', 1);
        if (slash <= 1 || slash == path.Length - 1 || path.IndexOf('/', slash + 1) >= 0)
        {
            return false;
        }

        service = path[1..slash];
        method = path[(slash + 1)..];
        return true;
    }

    /// <summary>Writes a message prefix.</summary>
    public static void WritePrefix(Span<byte> destination, bool compressed, int length)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    /// <summary>Percent-encodes a grpc-message value: bytes outside 0x20..0x7E, and '%', as %XX of their UTF-8.</summary>
    public static string EncodeMessage(string message)
    {
        var builder = new StringBuilder(message.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(message))
        {
            if (b is < 0x20 or > 0x7E or (byte)'%')
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append((char)b);
            }
        }

        return builder.ToString();
    }

    /// <summary>Decodes a grpc-message value (invalid escapes are kept as they are, as the spec asks).</summary>
    public static string DecodeMessage(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var bytes = new List<byte>(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && byte.TryParse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(value[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool HasMediaType(string? contentType, string mediaType)
    {
        if (contentType is null || !contentType.StartsWith(mediaType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return contentType.Length == mediaType.Length || contentType[mediaType.Length] is '+' or ';';
    }
}
