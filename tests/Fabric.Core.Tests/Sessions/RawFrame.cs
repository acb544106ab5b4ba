using System.Buffers;
using System.Buffers.Binary;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>One frame a <see cref="RawPeer"/> read from the session, with typed views of its payload.</summary>
internal sealed record RawFrame(FrameHeader Header, byte[] Payload)
{
    public FrameType Type => Header.Type;

    public uint StreamId => Header.StreamId;

    /// <summary>STREAM_CREDIT increment or RESET_STREAM code as a number.</summary>
    public uint UInt32 => BinaryPrimitives.ReadUInt32BigEndian(Payload);

    /// <summary>PING/PONG opaque value.</summary>
    public ulong Opaque => BinaryPrimitives.ReadUInt64BigEndian(Payload);

    /// <summary>RESET_STREAM error code.</summary>
    public FabricErrorCode ResetCode => (FabricErrorCode)UInt32;

    public GoAwayFrame GoAway => GoAwayFrame.Parse(new ReadOnlySequence<byte>(Payload));

    public HelloFrame Hello => HelloFrame.Parse(new ReadOnlySequence<byte>(Payload), FabricSession.ProtocolDefaults);

    public OpenStreamFrame Open => OpenStreamFrame.Parse(Header, new ReadOnlySequence<byte>(Payload));

    public override string ToString() => Type switch
    {
        FrameType.Data => $"DATA({StreamId}, {Payload.Length} B)",
        FrameType.StreamCredit => $"STREAM_CREDIT({StreamId}, +{UInt32})",
        FrameType.ResetStream => $"RESET_STREAM({StreamId}, {ResetCode})",
        FrameType.GoAway => $"GOAWAY({GoAway.LastStreamId}, {GoAway.Code}, '{GoAway.Reason}')",
        _ => $"{FrameReader.Name(Type)}({StreamId})",
    };
}
