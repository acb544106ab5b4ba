using System.Buffers;
using System.Buffers.Binary;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Framing;

/// <summary>One test (or theory) per rule of <see cref="FrameReader.Validate"/> and of the payload parsers.</summary>
public class FrameReaderTests
{
    private const int MaxPayload = FrameHeader.MaxPayload;

    /// <summary>Defaults that differ from the protocol defaults, to prove the parser uses the ones it is given.</summary>
    private static readonly SessionSettings CustomDefaults = new(1111, 2222, 3333, 4444);

    public static TheoryData<string> AllVectors =>
    [
        FrameVectors.Data, FrameVectors.OpenStream, FrameVectors.StreamCredit, FrameVectors.CloseStream, FrameVectors.ResetStream,
        FrameVectors.Ping, FrameVectors.Pong, FrameVectors.GoAway, FrameVectors.Hello,
    ];

    // ================================================================ header validation

    [Theory]
    [InlineData(0x00, 0x01)]
    [InlineData(0x01, 0x01)]
    [InlineData(0x02, 0x02)]
    [InlineData(0x03, 0x04)]
    [InlineData(0x04, 0x08)]
    [InlineData(0x05, 0x10)]
    [InlineData(0x06, 0x20)]
    [InlineData(0x07, 0x40)]
    [InlineData(0x08, 0x80)]
    [InlineData(0x00, 0xFF)]
    [InlineData(0x08, 0xFF)]
    public void TryReadFrame_ReservedFlagsNonZero_ThrowsProtocolError(byte type, byte flags)
    {
        byte[] frame = Convert.FromHexString(VectorFor(type));
        Assert.True(TryRead(frame, out _)); // the same frame with flags 0 is fine

        frame[1] = flags;
        Assert.Equal(FabricErrorCode.ProtocolError, ReadError(frame));
        Assert.Equal(FabricErrorCode.ProtocolError, ReadError(frame[..FrameHeader.Size])); // decided from the header alone
    }

    [Theory]
    [InlineData(0x00)] // DATA
    [InlineData(0x01)] // OPEN_STREAM
    [InlineData(0x03)] // CLOSE_STREAM
    [InlineData(0x04)] // RESET_STREAM
    public void TryReadFrame_StreamFrameOnStream0_ThrowsProtocolError(byte type)
    {
        byte[] frame = Convert.FromHexString(VectorFor(type));
        Assert.True(TryRead(frame, out _)); // valid on its non-zero stream

        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), 0);
        Assert.Equal(FabricErrorCode.ProtocolError, ReadError(frame));
    }

    [Theory]
    [InlineData(0x05, 1u)] // PING
    [InlineData(0x06, 2u)] // PONG
    [InlineData(0x07, 0x8000_0000u)] // GOAWAY
    [InlineData(0x08, uint.MaxValue)] // HELLO
    public void TryReadFrame_SessionFrameOnNonZeroStream_ThrowsProtocolError(byte type, uint streamId)
    {
        byte[] frame = Convert.FromHexString(VectorFor(type));
        Assert.True(TryRead(frame, out _)); // valid on stream 0

        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), streamId);
        Assert.Equal(FabricErrorCode.ProtocolError, ReadError(frame));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(uint.MaxValue)]
    public void TryReadFrame_StreamCreditOnAnyStream_Accepted(uint streamId)
    {
        byte[] frame = FrameTestKit.Credit(streamId, 10);
        Assert.True(TryRead(frame, out DecodedFrame? decoded));
        Assert.Equal(new DecodedFrame(FrameType.StreamCredit, streamId, 10u), decoded);
    }

    [Theory]
    [InlineData(0x01, 1u, 8)] // OPEN_STREAM: 9..264
    [InlineData(0x01, 1u, 265)]
    [InlineData(0x01, 1u, 0xFFFF)]
    [InlineData(0x02, 0u, 3)] // STREAM_CREDIT: exactly 4
    [InlineData(0x02, 0u, 5)]
    [InlineData(0x02, 1u, 0)]
    [InlineData(0x03, 1u, 1)] // CLOSE_STREAM: exactly 0
    [InlineData(0x03, 1u, 0xFFFF)]
    [InlineData(0x04, 1u, 3)] // RESET_STREAM: exactly 4
    [InlineData(0x04, 1u, 5)]
    [InlineData(0x05, 0u, 7)] // PING: exactly 8
    [InlineData(0x05, 0u, 9)]
    [InlineData(0x06, 0u, 7)] // PONG: exactly 8
    [InlineData(0x06, 0u, 9)]
    [InlineData(0x07, 0u, 7)] // GOAWAY: 8..264
    [InlineData(0x07, 0u, 265)]
    [InlineData(0x08, 0u, 3)] // HELLO: 4..196 (at most 32 settings)
    [InlineData(0x08, 0u, 197)]
    public void TryReadFrame_LengthOutsideTypeBounds_ThrowsFrameSizeErrorFromHeaderAlone(byte type, uint streamId, int length)
    {
        // Only the 8 header bytes are buffered: the reader must not wait for a payload it will reject.
        byte[] header = FrameTestKit.Raw(type, 0, length, streamId, []);
        Assert.Equal(FabricErrorCode.FrameSizeError, ReadError(header));
    }

    [Theory]
    [InlineData(0x00, 1u, 0)] // DATA may be empty
    [InlineData(0x01, 1u, 9)]
    [InlineData(0x01, 1u, 264)]
    [InlineData(0x02, 0u, 4)]
    [InlineData(0x03, 1u, 0)]
    [InlineData(0x04, 1u, 4)]
    [InlineData(0x05, 0u, 8)]
    [InlineData(0x06, 0u, 8)]
    [InlineData(0x07, 0u, 8)]
    [InlineData(0x07, 0u, 264)]
    [InlineData(0x08, 0u, 4)]
    [InlineData(0x08, 0u, 196)]
    public void TryReadFrame_LengthAtTypeBounds_ReadsWholeFrame(byte type, uint streamId, int length)
    {
        byte[] frame = FrameTestKit.Raw(type, 0, length, streamId, new byte[length]);
        var buffer = new ReadOnlySequence<byte>(frame);

        Assert.True(FrameReader.TryReadFrame(ref buffer, MaxPayload, out FrameHeader header, out ReadOnlySequence<byte> payload));

        Assert.Equal(new FrameHeader((FrameType)type, 0, length, streamId), header);
        Assert.Equal(length, payload.Length);
        Assert.True(buffer.IsEmpty);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(16384)]
    [InlineData(65534)]
    public void TryReadFrame_DataAboveLimitWithOnlyHeaderBuffered_ThrowsFrameSizeError(int maxDataPayload)
    {
        byte[] header = FrameTestKit.Raw((byte)FrameType.Data, 0, maxDataPayload + 1, 1, []);
        Assert.Equal(FabricErrorCode.FrameSizeError, ReadError(header, maxDataPayload));
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(65535)]
    public void TryReadFrame_DataAtLimit_WaitsForPayloadThenReads(int maxDataPayload)
    {
        byte[] frame = FrameTestKit.Data(9, new byte[maxDataPayload]);

        var partial = new ReadOnlySequence<byte>(frame, 0, frame.Length - 1);
        Assert.False(FrameReader.TryReadFrame(ref partial, maxDataPayload, out _, out _));
        Assert.Equal(frame.Length - 1, partial.Length);

        var whole = new ReadOnlySequence<byte>(frame);
        Assert.True(FrameReader.TryReadFrame(ref whole, maxDataPayload, out FrameHeader header, out ReadOnlySequence<byte> payload));
        Assert.Equal(maxDataPayload, header.Length);
        Assert.Equal(maxDataPayload, payload.Length);
        Assert.True(whole.IsEmpty);
    }

    [Fact]
    public void TryReadFrame_TypesFrom0x09To0xFF_ThrowProtocolError()
    {
        for (int type = 0x09; type <= 0xFF; type++)
        {
            foreach (uint stream in (uint[])[0, 1])
            {
                foreach (int length in (int[])[0, 4, 8])
                {
                    byte[] frame = FrameTestKit.Raw((byte)type, 0, length, stream, new byte[length]);
                    Assert.Equal(FabricErrorCode.ProtocolError, ReadError(frame));
                    Assert.Equal(FabricErrorCode.ProtocolError, ReadError(frame[..FrameHeader.Size]));
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllVectors))]
    public void TryReadFrame_StrictPrefixOfValidFrame_ReturnsFalseWithoutConsuming(string vector)
    {
        byte[] frame = Convert.FromHexString(vector);
        for (int length = 0; length < frame.Length; length++)
        {
            byte[] prefix = frame[..length];
            foreach (ReadOnlySequence<byte> original in (ReadOnlySequence<byte>[])[new(prefix), SegmentedSequence.AtRandom(prefix, length)])
            {
                ReadOnlySequence<byte> buffer = original;

                bool read = FrameReader.TryReadFrame(ref buffer, MaxPayload, out FrameHeader header, out ReadOnlySequence<byte> payload);

                Assert.False(read, $"prefix of {length} bytes");
                Assert.Equal(original.Length, buffer.Length);
                Assert.Equal(original.Start, buffer.Start);
                Assert.True(payload.IsEmpty);
                Assert.True(length >= FrameHeader.Size || header == default);
            }
        }
    }

    [Fact]
    public void TryReadFrame_StrictPrefixOfLargeDataAndGoAway_ReturnsFalseWithoutConsuming()
    {
        byte[][] frames =
        [
            FrameTestKit.Data(5, new byte[3000]),
            FrameTestKit.GoAway(new GoAwayFrame(1, FabricErrorCode.InternalError, new string('x', 300))),
            FrameTestKit.Open(new OpenStreamFrame(3, 1, TrafficClass.Bulk, 1, new string('t', 255))),
        ];
        foreach (byte[] frame in frames)
        {
            for (int length = 0; length < frame.Length; length++)
            {
                var buffer = new ReadOnlySequence<byte>(frame, 0, length);
                Assert.False(FrameReader.TryReadFrame(ref buffer, MaxPayload, out _, out _));
                Assert.Equal(length, buffer.Length);
            }
        }
    }

    // ================================================================ HELLO

    [Theory]
    [InlineData(33)]
    [InlineData(0xFFFF)]
    public void HelloParse_MoreThan32Settings_ThrowsProtocolError(int count)
    {
        // Full-length payload (33 distinct settings) and a short one that only claims the count.
        if (count == 33)
        {
            byte[] full = HelloPayload(1, [.. Enumerable.Range(1, 33).Select(id => ((ushort)id, 1u << 10))]);
            Assert.Equal(FabricErrorCode.ProtocolError, HelloError(full));
        }

        byte[] claim = HelloPayloadWithCount(1, (ushort)count, []);
        Assert.Equal(FabricErrorCode.ProtocolError, HelloError(claim));
    }

    [Fact]
    public void HelloParse_Exactly32Settings_Accepted()
    {
        (ushort, uint)[] settings = [(1, 2048), (2, 5), (3, 6), (4, 7), .. Enumerable.Range(5, 28).Select(id => ((ushort)id, 99u))];
        byte[] frame = FrameTestKit.Raw(FrameType.Hello, 0, HelloPayload(3, settings));
        Assert.Equal(4 + (32 * 6), frame.Length - FrameHeader.Size);

        Assert.True(TryRead(frame, out DecodedFrame? decoded));

        HelloFrame hello = Assert.IsType<HelloFrame>(decoded!.Value);
        Assert.Equal(new HelloFrame(3, new SessionSettings(2048, 5, 6, 7)), hello);
    }

    [Theory]
    [InlineData(1, 2048u)]
    [InlineData(2, 10u)]
    [InlineData(3, 100u)]
    [InlineData(4, 100u)]
    public void HelloParse_DuplicateKnownSetting_ThrowsProtocolError(ushort id, uint value)
    {
        byte[] payload = HelloPayload(1, [(id, value), (id, value)]);
        Assert.Equal(FabricErrorCode.ProtocolError, HelloError(payload));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(0x1234)]
    [InlineData(0xFFFF)]
    public void HelloParse_DuplicateUnknownSetting_ThrowsProtocolError(ushort id)
    {
        byte[] payload = HelloPayload(1, [(id, 1), (2, 10), (id, 2)]);
        Assert.Equal(FabricErrorCode.ProtocolError, HelloError(payload));
    }

    [Theory]
    [InlineData(4, 3, 0)] // count says more than the payload holds
    [InlineData(2, 3, 0)] // count says fewer
    [InlineData(0, 1, 0)]
    [InlineData(1, 1, 5)] // a partial setting at the end
    [InlineData(32, 0, 0)]
    public void HelloParse_CountDoesNotMatchLength_ThrowsFrameSizeError(int count, int settingsPresent, int extraBytes)
    {
        byte[] payload =
        [
            .. HelloPayloadWithCount(1, (ushort)count, [.. Enumerable.Range(1, settingsPresent).Select(id => ((ushort)id, 2048u))]),
            .. new byte[extraBytes],
        ];
        Assert.Equal(FabricErrorCode.FrameSizeError, HelloError(payload));

        // The same through the reader: the header is within 4..196 so it is the parser that rejects it.
        byte[] frame = FrameTestKit.Raw(FrameType.Hello, 0, payload);
        Assert.Equal(FabricErrorCode.FrameSizeError, ReadError(frame));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void HelloParse_ShorterThan4Bytes_ThrowsFrameSizeError(int length) =>
        Assert.Equal(FabricErrorCode.FrameSizeError, HelloError(new byte[length]));

    [Theory]
    [InlineData(0u)]
    [InlineData(1023u)]
    [InlineData(65536u)]
    [InlineData(uint.MaxValue)]
    public void HelloParse_MaxFramePayloadOutside1024To65535_ThrowsProtocolError(uint value) =>
        Assert.Equal(FabricErrorCode.ProtocolError, HelloError(HelloPayload(1, [(1, value)])));

    [Theory]
    [InlineData(1024u)]
    [InlineData(65535u)]
    public void HelloParse_MaxFramePayloadAtBounds_Accepted(uint value) =>
        Assert.Equal((int)value, ParseHello(HelloPayload(1, [(1, value)])).Settings.MaxFramePayload);

    [Theory]
    [InlineData(3, 0x8000_0000u)]
    [InlineData(3, uint.MaxValue)]
    [InlineData(4, 0x8000_0000u)]
    [InlineData(4, uint.MaxValue)]
    public void HelloParse_WindowAbove2Pow31Minus1_ThrowsFlowControlError(ushort id, uint value) =>
        Assert.Equal(FabricErrorCode.FlowControlError, HelloError(HelloPayload(1, [(id, value)])));

    [Fact]
    public void HelloParse_WindowsAt2Pow31Minus1_Accepted()
    {
        HelloFrame hello = ParseHello(HelloPayload(1, [(3, int.MaxValue), (4, int.MaxValue)]));
        Assert.Equal(int.MaxValue, hello.Settings.InitialStreamWindow);
        Assert.Equal(int.MaxValue, hello.Settings.SessionWindow);
    }

    [Theory]
    [InlineData(0x8000_0000u)]
    [InlineData(uint.MaxValue)]
    public void HelloParse_MaxConcurrentStreamsAboveIntMax_ClampsToIntMax(uint value) =>
        Assert.Equal(int.MaxValue, ParseHello(HelloPayload(1, [(2, value)])).Settings.MaxConcurrentStreams);

    [Fact]
    public void HelloParse_UnknownSettingIds_Ignored()
    {
        byte[] payload = HelloPayload(7, [(0, uint.MaxValue), (5, 0), (31, 1), (32, uint.MaxValue), (0x8000, 0x8000_0000), (0xFFFF, 12345)]);

        HelloFrame hello = ParseHello(payload);

        Assert.Equal((ushort)7, hello.Version);
        Assert.Equal(CustomDefaults, hello.Settings);
    }

    [Fact]
    public void HelloParse_OmittedSettings_TakeTheDefaultsPassedIn()
    {
        Assert.Equal(new HelloFrame(1, CustomDefaults), ParseHello(HelloPayload(1, [])));
        Assert.Equal(new HelloFrame(1, CustomDefaults with { MaxConcurrentStreams = 7 }), ParseHello(HelloPayload(1, [(2, 7)])));
        Assert.Equal(
            new HelloFrame(1, CustomDefaults with { MaxFramePayload = 4096, SessionWindow = 0 }),
            ParseHello(HelloPayload(1, [(4, 0), (1, 4096)])));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(0xFFFF)]
    public void HelloParse_AnyVersion_PassedThroughUnchecked(ushort version) =>
        Assert.Equal(version, ParseHello(HelloPayload(version, [])).Version);

    // ================================================================ OPEN_STREAM

    [Theory]
    [InlineData("FF")] // never valid
    [InlineData("80")] // lone continuation byte
    [InlineData("C080")] // overlong NUL
    [InlineData("E08080")] // overlong
    [InlineData("EDA080")] // UTF-16 surrogate D800
    [InlineData("E282")] // truncated 3-byte sequence
    [InlineData("F4908080")] // above U+10FFFF
    [InlineData("6F7264FE6572")] // "ord" 0xFE "er"
    [InlineData("E282AC" + "F0")] // "€" then a truncated 4-byte sequence
    public void OpenStreamParse_InvalidUtf8Target_ThrowsProtocolError(string targetHex)
    {
        byte[] target = Convert.FromHexString(targetHex);
        byte[] frame = FrameTestKit.Raw(FrameType.OpenStream, 1, OpenPayload(target: target));
        for (int cut = 0; cut <= frame.Length; cut++)
        {
            Assert.Equal(FabricErrorCode.ProtocolError, ReadError(SegmentedSequence.Split(frame, cut)));
        }
    }

    [Fact]
    public void OpenStreamParse_MultiByteTargetSplitAcrossSegments_Decodes()
    {
        const string Target = "é€𝄞 orders ✓";
        byte[] frame = FrameTestKit.Raw(FrameType.OpenStream, 1, OpenPayload(target: System.Text.Encoding.UTF8.GetBytes(Target)));
        for (int cut = 0; cut <= frame.Length; cut++)
        {
            for (int cut2 = cut; cut2 <= frame.Length; cut2 += 3)
            {
                Assert.True(TryRead(SegmentedSequence.Split(frame, cut, cut2), out DecodedFrame? decoded));
                Assert.Equal(Target, Assert.IsType<OpenStreamFrame>(decoded!.Value).Target);
            }
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(0x80)]
    [InlineData(0xFF)]
    public void OpenStreamParse_UnknownTrafficClass_ThrowsProtocolError(byte trafficClass) =>
        Assert.Equal(FabricErrorCode.ProtocolError, ReadError(FrameTestKit.Raw(FrameType.OpenStream, 1, OpenPayload(trafficClass: trafficClass))));

    [Fact]
    public void OpenStreamParse_EveryKnownTrafficClass_Accepted()
    {
        foreach (TrafficClass cls in Enum.GetValues<TrafficClass>())
        {
            Assert.True(TryRead(FrameTestKit.Raw(FrameType.OpenStream, 1, OpenPayload(trafficClass: (byte)cls)), out DecodedFrame? decoded));
            Assert.Equal(cls, Assert.IsType<OpenStreamFrame>(decoded!.Value).Class);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0x80)]
    [InlineData(0xFF)]
    public void OpenStreamParse_ReservedByteNonZero_ThrowsProtocolError(byte reserved) =>
        Assert.Equal(FabricErrorCode.ProtocolError, ReadError(FrameTestKit.Raw(FrameType.OpenStream, 1, OpenPayload(reserved: reserved))));

    [Theory]
    [InlineData(3, 2)] // tlen claims more than the frame holds
    [InlineData(1, 2)] // tlen claims less
    [InlineData(255, 0)]
    [InlineData(0, 255)]
    public void OpenStreamParse_TargetLengthMismatch_ThrowsFrameSizeError(byte tlen, int actualBytes)
    {
        byte[] payload = OpenPayload(target: [.. Enumerable.Repeat((byte)'a', actualBytes)], targetLength: tlen);
        Assert.Equal(FabricErrorCode.FrameSizeError, ReadError(FrameTestKit.Raw(FrameType.OpenStream, 1, payload)));
    }

    [Theory]
    [InlineData(0x8000_0000u)]
    [InlineData(uint.MaxValue)]
    public void OpenStreamParse_CreditAbove2Pow31Minus1_ThrowsFlowControlError(uint credit) =>
        Assert.Equal(FabricErrorCode.FlowControlError, ReadError(FrameTestKit.Raw(FrameType.OpenStream, 1, OpenPayload(credit: credit))));

    [Fact]
    public void OpenStreamParse_CreditAt2Pow31Minus1And255ByteTarget_Accepted()
    {
        string target = new('z', OpenStreamFrame.MaxTargetBytes);
        byte[] frame = FrameTestKit.Raw(FrameType.OpenStream, 0xFFFF_FFFF, OpenPayload(credit: int.MaxValue, target: System.Text.Encoding.UTF8.GetBytes(target)));

        Assert.True(TryRead(frame, out DecodedFrame? decoded));

        Assert.Equal(new OpenStreamFrame(0xFFFF_FFFF, 0x0100, TrafficClass.Reliable, int.MaxValue, target), decoded!.Value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    public void OpenStreamParse_ShorterThanFixedPart_ThrowsFrameSizeError(int length)
    {
        var header = new FrameHeader(FrameType.OpenStream, 0, length, 1);
        var ex = Assert.Throws<FabricProtocolException>(() => OpenStreamFrame.Parse(header, new ReadOnlySequence<byte>(new byte[length])));
        Assert.Equal(FabricErrorCode.FrameSizeError, ex.Code);
    }

    // ================================================================ GOAWAY

    [Theory]
    [InlineData("62FF65", "b\uFFFDe")]
    [InlineData("C080", "\uFFFD\uFFFD")]
    [InlineData("627965E282", "bye\uFFFD")]
    [InlineData("EDA080", "\uFFFD\uFFFD\uFFFD")]
    public void GoAwayParse_InvalidUtf8Reason_DecodesLenientlyWithoutThrowing(string reasonHex, string expected)
    {
        byte[] payload = [0, 0, 0, 9, 0, 0, 0, 1, .. Convert.FromHexString(reasonHex)];
        byte[] frame = FrameTestKit.Raw(FrameType.GoAway, 0, payload);
        for (int cut = 0; cut <= frame.Length; cut++)
        {
            Assert.True(TryRead(SegmentedSequence.Split(frame, cut), out DecodedFrame? decoded));
            Assert.Equal(new GoAwayFrame(9, FabricErrorCode.ProtocolError, expected), decoded!.Value);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(265)]
    public void GoAwayParse_LengthOutside8To264_ThrowsFrameSizeError(int length)
    {
        var ex = Assert.Throws<FabricProtocolException>(() => GoAwayFrame.Parse(new ReadOnlySequence<byte>(new byte[length])));
        Assert.Equal(FabricErrorCode.FrameSizeError, ex.Code);
    }

    [Fact]
    public void GoAwayParse_NoReason_YieldsEmptyString()
    {
        GoAwayFrame goAway = GoAwayFrame.Parse(new ReadOnlySequence<byte>([0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Equal(new GoAwayFrame(0, FabricErrorCode.NoError, string.Empty), goAway);
    }

    // ================================================================ helpers

    private static string VectorFor(byte type) => (FrameType)type switch
    {
        FrameType.Data => FrameVectors.Data,
        FrameType.OpenStream => FrameVectors.OpenStream,
        FrameType.StreamCredit => FrameVectors.StreamCredit,
        FrameType.CloseStream => FrameVectors.CloseStream,
        FrameType.ResetStream => FrameVectors.ResetStream,
        FrameType.Ping => FrameVectors.Ping,
        FrameType.Pong => FrameVectors.Pong,
        FrameType.GoAway => FrameVectors.GoAway,
        FrameType.Hello => FrameVectors.Hello,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Reads and decodes one whole frame; true when it was complete and valid, and it was all the buffer held.</summary>
    private static bool TryRead(byte[] frame, out DecodedFrame? decoded) => TryRead(new ReadOnlySequence<byte>(frame), out decoded);

    private static bool TryRead(ReadOnlySequence<byte> buffer, out DecodedFrame? decoded)
    {
        decoded = null;
        if (!FrameReader.TryReadFrame(ref buffer, MaxPayload, out FrameHeader header, out ReadOnlySequence<byte> payload))
        {
            return false;
        }

        Assert.True(buffer.IsEmpty);
        decoded = FrameTestKit.Decode(header, payload);
        return true;
    }

    private static FabricErrorCode ReadError(byte[] bytes, int maxDataPayload = MaxPayload) =>
        ReadError(new ReadOnlySequence<byte>(bytes), maxDataPayload);

    /// <summary>Runs reader + type parser over <paramref name="input"/>; the protocol error code it must raise.</summary>
    private static FabricErrorCode ReadError(ReadOnlySequence<byte> input, int maxDataPayload = MaxPayload)
    {
        var ex = Assert.Throws<FabricProtocolException>(() =>
        {
            ReadOnlySequence<byte> buffer = input;
            FrameTestKit.ReadAll(ref buffer, maxDataPayload);
        });
        return ex.Code;
    }

    private static HelloFrame ParseHello(byte[] payload) => HelloFrame.Parse(new ReadOnlySequence<byte>(payload), CustomDefaults);

    private static FabricErrorCode HelloError(byte[] payload)
    {
        var ex = Assert.Throws<FabricProtocolException>(() => ParseHello(payload));
        return ex.Code;
    }

    private static byte[] HelloPayload(ushort version, (ushort Id, uint Value)[] settings) =>
        HelloPayloadWithCount(version, (ushort)settings.Length, settings);

    private static byte[] HelloPayloadWithCount(ushort version, ushort count, (ushort Id, uint Value)[] settings)
    {
        var payload = new byte[4 + (settings.Length * 6)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, version);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), count);
        for (int i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(4 + (i * 6)), settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(6 + (i * 6)), settings[i].Value);
        }

        return payload;
    }

    private static byte[] OpenPayload(
        ushort subprotocol = 0x0100, byte trafficClass = (byte)TrafficClass.Reliable, byte reserved = 0, uint credit = 65536,
        byte[]? target = null, int? targetLength = null)
    {
        target ??= "svc"u8.ToArray();
        var payload = new byte[OpenStreamFrame.FixedSize + target.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, subprotocol);
        payload[2] = trafficClass;
        payload[3] = reserved;
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), credit);
        payload[8] = (byte)(targetLength ?? target.Length);
        target.CopyTo(payload, OpenStreamFrame.FixedSize);
        return payload;
    }
}
