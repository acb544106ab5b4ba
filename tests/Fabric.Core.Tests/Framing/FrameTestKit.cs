using System.Buffers;
using System.Buffers.Binary;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Framing;

/// <summary>One frame as the session sees it after the type parser ran. <c>Value</c> is typed per frame type.</summary>
/// <remarks>
/// DATA: the payload as a hex string; OPEN_STREAM: <see cref="OpenStreamFrame"/>; STREAM_CREDIT: increment (uint);
/// CLOSE_STREAM: null; RESET_STREAM: <see cref="FabricErrorCode"/>; PING/PONG: opaque (ulong);
/// GOAWAY: <see cref="GoAwayFrame"/>; HELLO: <see cref="HelloFrame"/>.
/// </remarks>
internal sealed record DecodedFrame(FrameType Type, uint StreamId, object? Value);

/// <summary>Frame writing and decoding helpers shared by the framing tests.</summary>
internal static class FrameTestKit
{
    /// <summary>The defaults the session hands <see cref="HelloFrame.Parse"/>.</summary>
    public static SessionSettings Defaults => FabricSession.ProtocolDefaults;

    public static byte[] Data(uint streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameHeader.Size + payload.Length];
        int n = FrameWriter.WriteDataHeader(frame, streamId, payload.Length);
        payload.CopyTo(frame.AsSpan(n));
        return frame;
    }

    public static byte[] Open(OpenStreamFrame open)
    {
        var frame = new byte[FrameHeader.Size + open.PayloadLength];
        int n = open.WriteTo(frame);
        return frame[..n];
    }

    public static byte[] Credit(uint streamId, uint increment)
    {
        var frame = new byte[FrameWriter.CreditFrameSize];
        return frame[..FrameWriter.WriteStreamCredit(frame, streamId, increment)];
    }

    public static byte[] Close(uint streamId)
    {
        var frame = new byte[FrameWriter.CloseFrameSize];
        return frame[..FrameWriter.WriteClose(frame, streamId)];
    }

    public static byte[] Reset(uint streamId, FabricErrorCode code)
    {
        var frame = new byte[FrameWriter.ResetFrameSize];
        return frame[..FrameWriter.WriteReset(frame, streamId, code)];
    }

    public static byte[] Ping(FrameType pingOrPong, ulong opaque)
    {
        var frame = new byte[FrameWriter.PingFrameSize];
        return frame[..FrameWriter.WritePing(frame, pingOrPong, opaque)];
    }

    public static byte[] GoAway(GoAwayFrame goAway)
    {
        var frame = new byte[GoAwayFrame.MaxFrameSize];
        return frame[..goAway.WriteTo(frame)];
    }

    public static byte[] Hello(HelloFrame hello)
    {
        var frame = new byte[HelloFrame.FrameSize];
        return frame[..hello.WriteTo(frame)];
    }

    /// <summary>A frame with an arbitrary header; the length field says <paramref name="length"/> whatever the payload is.</summary>
    public static byte[] Raw(byte type, byte flags, int length, uint streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[FrameHeader.Size + payload.Length];
        frame[0] = type;
        frame[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)length);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), streamId);
        payload.CopyTo(frame.AsSpan(FrameHeader.Size));
        return frame;
    }

    /// <summary>A frame whose length field matches its payload.</summary>
    public static byte[] Raw(FrameType type, uint streamId, ReadOnlySpan<byte> payload) =>
        Raw((byte)type, 0, payload.Length, streamId, payload);

    /// <summary>
    /// Runs the type parser for one frame exactly as <c>FabricSession.HandleFrame</c> does (same parser per type,
    /// same defaults for HELLO) and returns what the session would act on.
    /// </summary>
    public static DecodedFrame Decode(in FrameHeader header, in ReadOnlySequence<byte> payload) => header.Type switch
    {
        FrameType.Data => new DecodedFrame(header.Type, header.StreamId, Convert.ToHexString(payload.ToArray())),
        FrameType.OpenStream => new DecodedFrame(header.Type, header.StreamId, OpenStreamFrame.Parse(header, payload)),
        FrameType.StreamCredit => new DecodedFrame(header.Type, header.StreamId, FrameReader.ReadUInt32(payload)),
        FrameType.CloseStream => new DecodedFrame(header.Type, header.StreamId, null),
        FrameType.ResetStream => new DecodedFrame(header.Type, header.StreamId, (FabricErrorCode)FrameReader.ReadUInt32(payload)),
        FrameType.Ping or FrameType.Pong => new DecodedFrame(header.Type, header.StreamId, FrameReader.ReadUInt64(payload)),
        FrameType.GoAway => new DecodedFrame(header.Type, header.StreamId, GoAwayFrame.Parse(payload)),
        FrameType.Hello => new DecodedFrame(header.Type, header.StreamId, HelloFrame.Parse(payload, Defaults)),
        _ => throw new FabricProtocolException(FabricErrorCode.ProtocolError, $"unexpected frame type {header.Type}"),
    };

    /// <summary>Parses every whole frame of <paramref name="buffer"/>; the rest stays in <paramref name="buffer"/>.</summary>
    public static List<DecodedFrame> ReadAll(ref ReadOnlySequence<byte> buffer, int maxDataPayload)
    {
        var frames = new List<DecodedFrame>();
        while (FrameReader.TryReadFrame(ref buffer, maxDataPayload, out FrameHeader header, out ReadOnlySequence<byte> payload))
        {
            Assert.Equal(header.Length, payload.Length);
            frames.Add(Decode(header, payload));
        }

        return frames;
    }

    public static byte[] Concat(IEnumerable<byte[]> frames) => [.. frames.SelectMany(f => f)];

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);
}
