using System.Buffers;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Framing;

/// <summary>
/// Known-answer tests: the writer produces exactly the hand-derived bytes of <see cref="FrameVectors"/>, and the
/// reader parses those bytes (split at every possible point) back to the same fields.
/// </summary>
public class FrameVectorTests
{
    private static readonly OpenStreamFrame Open = new(1, 0x0100, TrafficClass.Interactive, 262144, "orders");
    private static readonly GoAwayFrame Bye = new(7, FabricErrorCode.NoError, "bye");
    private static readonly HelloFrame Hello = new(1, new SessionSettings(16384, 4096, 262144, 67108864));

    [Fact]
    public void WriteDataHeader_HiOnStream1_MatchesVector() =>
        Assert.Equal(FrameVectors.Data, Convert.ToHexString(FrameTestKit.Data(1, "hi"u8)));

    [Fact]
    public void TryReadFrame_DataVector_YieldsHiOnStream1() =>
        Assert.Equal(new DecodedFrame(FrameType.Data, 1, Convert.ToHexString("hi"u8)), ReadVector(FrameVectors.Data));

    [Fact]
    public void OpenStreamWriteTo_OrdersStream_MatchesVector() =>
        Assert.Equal(FrameVectors.OpenStream, Convert.ToHexString(FrameTestKit.Open(Open)));

    [Fact]
    public void OpenStreamParse_Vector_YieldsEveryField()
    {
        DecodedFrame frame = ReadVector(FrameVectors.OpenStream);
        Assert.Equal(FrameType.OpenStream, frame.Type);
        Assert.Equal(1u, frame.StreamId);
        OpenStreamFrame open = Assert.IsType<OpenStreamFrame>(frame.Value);
        Assert.Equal((ushort)0x0100, open.Subprotocol);
        Assert.Equal(TrafficClass.Interactive, open.Class);
        Assert.Equal(262144u, open.InitialCredit);
        Assert.Equal("orders", open.Target);
        Assert.Equal(Open, open);
    }

    [Fact]
    public void WriteStreamCredit_SessionWindow65536_MatchesVector() =>
        Assert.Equal(FrameVectors.StreamCredit, Convert.ToHexString(FrameTestKit.Credit(0, 65536)));

    [Fact]
    public void TryReadFrame_StreamCreditVector_YieldsIncrementOnStream0() =>
        Assert.Equal(new DecodedFrame(FrameType.StreamCredit, 0, 65536u), ReadVector(FrameVectors.StreamCredit));

    [Fact]
    public void WriteClose_Stream3_MatchesVector() =>
        Assert.Equal(FrameVectors.CloseStream, Convert.ToHexString(FrameTestKit.Close(3)));

    [Fact]
    public void TryReadFrame_CloseStreamVector_YieldsStream3() =>
        Assert.Equal(new DecodedFrame(FrameType.CloseStream, 3, null), ReadVector(FrameVectors.CloseStream));

    [Fact]
    public void WriteReset_Stream5Cancel_MatchesVector() =>
        Assert.Equal(FrameVectors.ResetStream, Convert.ToHexString(FrameTestKit.Reset(5, FabricErrorCode.Cancel)));

    [Fact]
    public void TryReadFrame_ResetStreamVector_YieldsCancelOnStream5() =>
        Assert.Equal(new DecodedFrame(FrameType.ResetStream, 5, FabricErrorCode.Cancel), ReadVector(FrameVectors.ResetStream));

    [Fact]
    public void WritePing_Opaque0102030405060708_MatchesVector() =>
        Assert.Equal(FrameVectors.Ping, Convert.ToHexString(FrameTestKit.Ping(FrameType.Ping, 0x0102030405060708)));

    [Fact]
    public void TryReadFrame_PingVector_YieldsOpaque() =>
        Assert.Equal(new DecodedFrame(FrameType.Ping, 0, 0x0102030405060708ul), ReadVector(FrameVectors.Ping));

    [Fact]
    public void WritePing_PongOpaque0102030405060708_MatchesVector() =>
        Assert.Equal(FrameVectors.Pong, Convert.ToHexString(FrameTestKit.Ping(FrameType.Pong, 0x0102030405060708)));

    [Fact]
    public void TryReadFrame_PongVector_YieldsOpaque() =>
        Assert.Equal(new DecodedFrame(FrameType.Pong, 0, 0x0102030405060708ul), ReadVector(FrameVectors.Pong));

    [Fact]
    public void GoAwayWriteTo_Bye_MatchesVector() =>
        Assert.Equal(FrameVectors.GoAway, Convert.ToHexString(FrameTestKit.GoAway(Bye)));

    [Fact]
    public void GoAwayParse_Vector_YieldsEveryField()
    {
        DecodedFrame frame = ReadVector(FrameVectors.GoAway);
        Assert.Equal(FrameType.GoAway, frame.Type);
        Assert.Equal(0u, frame.StreamId);
        GoAwayFrame goAway = Assert.IsType<GoAwayFrame>(frame.Value);
        Assert.Equal(7u, goAway.LastStreamId);
        Assert.Equal(FabricErrorCode.NoError, goAway.Code);
        Assert.Equal("bye", goAway.Reason);
    }

    [Fact]
    public void HelloWriteTo_Version1FourSettings_MatchesVector() =>
        Assert.Equal(FrameVectors.Hello, Convert.ToHexString(FrameTestKit.Hello(Hello)));

    [Fact]
    public void HelloParse_Vector_YieldsEveryField()
    {
        DecodedFrame frame = ReadVector(FrameVectors.Hello);
        Assert.Equal(FrameType.Hello, frame.Type);
        Assert.Equal(0u, frame.StreamId);
        HelloFrame hello = Assert.IsType<HelloFrame>(frame.Value);
        Assert.Equal((ushort)1, hello.Version);
        Assert.Equal(16384, hello.Settings.MaxFramePayload);
        Assert.Equal(4096, hello.Settings.MaxConcurrentStreams);
        Assert.Equal(262144, hello.Settings.InitialStreamWindow);
        Assert.Equal(67108864, hello.Settings.SessionWindow);
    }

    [Fact]
    public void ReadAll_AllVectorsBackToBack_YieldsNineFramesInOrder()
    {
        string[] vectors =
        [
            FrameVectors.Hello, FrameVectors.OpenStream, FrameVectors.Data, FrameVectors.StreamCredit, FrameVectors.CloseStream,
            FrameVectors.ResetStream, FrameVectors.Ping, FrameVectors.Pong, FrameVectors.GoAway,
        ];
        byte[] wire = FrameTestKit.Concat(vectors.Select(Convert.FromHexString));
        for (int seed = 0; seed < 50; seed++)
        {
            ReadOnlySequence<byte> buffer = SegmentedSequence.AtRandom(wire, seed);
            List<DecodedFrame> frames = FrameTestKit.ReadAll(ref buffer, FrameHeader.MaxPayload);
            Assert.Equal(
                [FrameType.Hello, FrameType.OpenStream, FrameType.Data, FrameType.StreamCredit, FrameType.CloseStream, FrameType.ResetStream, FrameType.Ping, FrameType.Pong, FrameType.GoAway],
                frames.Select(f => f.Type));
            Assert.Equal(0, buffer.Length);
        }
    }

    /// <summary>
    /// Parses a vector as one whole frame, first contiguous and then split in two at every offset; every variant
    /// must give the same frame and consume the buffer exactly.
    /// </summary>
    private static DecodedFrame ReadVector(string hex)
    {
        byte[] wire = Convert.FromHexString(hex);
        DecodedFrame? first = null;
        for (int cut = 0; cut <= wire.Length; cut++)
        {
            ReadOnlySequence<byte> buffer = SegmentedSequence.Split(wire, cut);
            List<DecodedFrame> frames = FrameTestKit.ReadAll(ref buffer, FrameHeader.MaxPayload);
            DecodedFrame frame = Assert.Single(frames);
            Assert.Equal(0, buffer.Length);
            first ??= frame;
            Assert.Equal(first, frame);
        }

        return first!;
    }
}
