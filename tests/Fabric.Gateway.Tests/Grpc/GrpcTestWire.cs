using System.Text;

namespace Fabric.Gateway.Tests.Grpc;

/// <summary>
/// Just enough protobuf and gRPC framing to build grpc.testing requests by hand and read the responses, for the tests
/// that look at the wire itself (Trailers-Only, gRPC-Web): length-prefixed messages (flag, 4-byte big-endian length),
/// gRPC-Web trailer frames (flag 0x80, <c>name: value\r\n</c> lines) and the base64 of grpc-web-text.
/// </summary>
internal static class GrpcTestWire
{
    /// <summary>One gRPC message or gRPC-Web trailer frame.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> message, byte flags = 0)
    {
        byte[] frame = new byte[5 + message.Length];
        frame[0] = flags;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame.AsSpan(5));
        return frame;
    }

    /// <summary>grpc.testing.SimpleRequest { response_size, payload { body: zeros }, response_status { code, message } }.</summary>
    public static byte[] SimpleRequest(int responseSize, int payloadSize = 0, int statusCode = 0, string? statusMessage = null)
    {
        var m = new MemoryStream();
        if (responseSize != 0)
        {
            Varint(m, (2 << 3) | 0);
            Varint(m, (ulong)responseSize);
        }

        if (payloadSize > 0)
        {
            Bytes(m, 3, PayloadMessage(payloadSize));
        }

        if (statusCode != 0 || statusMessage is not null)
        {
            var status = new MemoryStream();
            Varint(status, (1 << 3) | 0);
            Varint(status, (ulong)statusCode);
            Bytes(status, 2, Encoding.UTF8.GetBytes(statusMessage ?? ""));
            Bytes(m, 7, status.ToArray());
        }

        return m.ToArray();
    }

    /// <summary>grpc.testing.StreamingOutputCallRequest { response_parameters { size, interval_us }* }.</summary>
    public static byte[] StreamingOutputCallRequest(IEnumerable<int> sizes, int intervalUs = 0)
    {
        var m = new MemoryStream();
        foreach (int size in sizes)
        {
            var parameters = new MemoryStream();
            Varint(parameters, (1 << 3) | 0);
            Varint(parameters, (ulong)size);
            if (intervalUs > 0)
            {
                Varint(parameters, (2 << 3) | 0);
                Varint(parameters, (ulong)intervalUs);
            }

            Bytes(m, 2, parameters.ToArray());
        }

        return m.ToArray();
    }

    /// <summary>
    /// The payload body of a SimpleResponse or StreamingOutputCallResponse (field 1: Payload; its field 2: body), as
    /// its length and whether it is all zeros.
    /// </summary>
    public static (int Length, bool Zeros) ResponsePayload(ReadOnlySpan<byte> message)
    {
        ReadOnlySpan<byte> payload = Field(message, 1);
        ReadOnlySpan<byte> body = Field(payload, 2);
        return (body.Length, !body.ContainsAnyExcept((byte)0));
    }

    /// <summary>Splits a gRPC or gRPC-Web body into its frames; fails on a truncated frame.</summary>
    public static List<(byte Flags, byte[] Data)> Frames(ReadOnlySpan<byte> body)
    {
        var frames = new List<(byte, byte[])>();
        while (!body.IsEmpty)
        {
            Assert.True(body.Length >= 5, $"a truncated frame prefix ({body.Length} bytes)");
            int length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
            Assert.True(body.Length >= 5 + length, $"a truncated frame: {length} bytes announced, {body.Length - 5} there");
            frames.Add((body[0], body[5..(5 + length)].ToArray()));
            body = body[(5 + length)..];
        }

        return frames;
    }

    /// <summary>The <c>name: value\r\n</c> lines of a gRPC-Web trailer frame (names lower-cased).</summary>
    public static Dictionary<string, string> TrailerLines(byte[] data)
    {
        var trailers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in Encoding.ASCII.GetString(data).Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, $"a trailer line without a colon: {line}");
            trailers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }

        return trailers;
    }

    /// <summary>
    /// Decodes grpc-web-text: base64 that a server may send in several separately padded pieces (each ending at a
    /// '=' or at a multiple of four characters).
    /// </summary>
    public static byte[] DecodeWebText(string text)
    {
        string compact = string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
        var bytes = new List<byte>();
        int start = 0;
        for (int i = 0; i < compact.Length; i += 4)
        {
            Assert.True(i + 4 <= compact.Length, $"grpc-web-text length {compact.Length} is not a multiple of 4");
            if (compact[i + 3] == '=' || i + 4 == compact.Length)
            {
                bytes.AddRange(Convert.FromBase64String(compact[start..(i + 4)]));
                start = i + 4;
            }
        }

        return [.. bytes];
    }

    private static byte[] PayloadMessage(int size)
    {
        var payload = new MemoryStream();
        Bytes(payload, 2, new byte[size]);
        return payload.ToArray();
    }

    private static void Bytes(MemoryStream m, int field, ReadOnlySpan<byte> value)
    {
        Varint(m, ((ulong)field << 3) | 2);
        Varint(m, (ulong)value.Length);
        m.Write(value);
    }

    private static void Varint(MemoryStream m, ulong value)
    {
        while (value >= 0x80)
        {
            m.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        m.WriteByte((byte)value);
    }

    /// <summary>The last occurrence of length-delimited field <paramref name="number"/> (empty when absent).</summary>
    private static ReadOnlySpan<byte> Field(ReadOnlySpan<byte> message, int number)
    {
        ReadOnlySpan<byte> found = [];
        int i = 0;
        while (i < message.Length)
        {
            ulong key = ReadVarint(message, ref i);
            int wireType = (int)(key & 7);
            int field = (int)(key >> 3);
            switch (wireType)
            {
                case 0:
                    ReadVarint(message, ref i);
                    break;
                case 1:
                    i += 8;
                    break;
                case 5:
                    i += 4;
                    break;
                case 2:
                    int length = (int)ReadVarint(message, ref i);
                    if (field == number)
                    {
                        found = message.Slice(i, length);
                    }

                    i += length;
                    break;
                default:
                    Assert.Fail($"unexpected protobuf wire type {wireType}");
                    break;
            }
        }

        return found;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int i)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[i++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
