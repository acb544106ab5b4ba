using System.Buffers.Binary;
using System.Text;

namespace Benchmarks.Scenarios.Grpc;

/// <summary>
/// The one call the grpc scenario makes, <c>/bench.Echo/Say</c>, as bytes on the wire: a protobuf message
/// <c>{ string text = 1; }</c> each way, in gRPC's length-prefixed framing (1 byte compressed flag, 4 bytes length,
/// big-endian). The request is the same for every call (h2load posts one file); the reply is a fixed 64-byte text.
/// </summary>
internal static class EchoMessages
{
    public const string Path = "/bench.Echo/Say";
    public const string HealthPath = "/grpc.health.v1.Health/Check";

    /// <summary>The request frame: 5-byte prefix + <c>text = "ping from the load generator"</c>.</summary>
    public static readonly byte[] RequestFrame = Frame(Text("ping from the load generator"));

    /// <summary>The reply frame: 5-byte prefix + <c>text = </c> 64 fixed characters.</summary>
    public static readonly byte[] ReplyFrame = Frame(Text(new string([.. Enumerable.Range(0, 64).Select(i => (char)('a' + (i * 7 % 26)))])));

    /// <summary>grpc.health.v1.HealthCheckResponse { status = SERVING }, framed.</summary>
    public static readonly byte[] ServingFrame = Frame([0x08, 0x01]);

    /// <summary>A protobuf message with field 1 (length-delimited) holding <paramref name="text"/> (under 128 bytes).</summary>
    private static byte[] Text(string text)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        return [0x0A, checked((byte)utf8.Length), .. utf8];
    }

    private static byte[] Frame(byte[] message)
    {
        byte[] frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }
}
