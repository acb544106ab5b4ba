using System.Buffers;
using System.Text;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;
using FsCheck;
using FsCheck.Fluent;

namespace Fabric.Core.Tests.Framing;

/// <summary>
/// Property tests: every frame type written by the codec parses back to the same fields, whatever the segmentation
/// of the bytes, and the reader consumes exactly the frame.
/// </summary>
public class FrameRoundTripTests
{
    private const int Tests = 300;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // ---------------------------------------------------------------- generators

    private static readonly Gen<int> Seed = Gen.Choose(0, int.MaxValue);

    private static readonly Gen<uint> AnyUInt32 = Gen.Frequency(
        (1, Gen.Elements(0u, 1u, 2u, 0x7FFF_FFFEu, 0x7FFF_FFFFu, 0x8000_0000u, uint.MaxValue - 1, uint.MaxValue)),
        (1, Gen.Choose(0, 1000).Select(x => (uint)x)),
        (4, from hi in Gen.Choose(0, 0xFFFF) from lo in Gen.Choose(0, 0xFFFF) select ((uint)hi << 16) | (uint)lo));

    private static readonly Gen<uint> NonZeroStream = AnyUInt32.Select(x => x == 0 ? 1u : x);

    private static readonly Gen<ulong> AnyUInt64 = Gen.Frequency(
        (1, Gen.Elements(0ul, 1ul, 0x0102_0304_0506_0708ul, (ulong)long.MaxValue, 1ul << 63, ulong.MaxValue)),
        (5, from hi in AnyUInt32 from lo in AnyUInt32 select ((ulong)hi << 32) | lo));

    private static readonly Gen<FabricErrorCode> AnyCode = Gen.Frequency(
        (1, Gen.Elements(Enum.GetValues<FabricErrorCode>())),
        (1, AnyUInt32.Select(x => (FabricErrorCode)x)));

    /// <summary>0..2^31-1, boundaries included.</summary>
    private static readonly Gen<int> AnyWindow = Gen.Frequency(
        (1, Gen.Elements(0, 1, 65535, 65536, int.MaxValue - 1, int.MaxValue)),
        (4, Gen.Choose(0, int.MaxValue)));

    /// <summary>A Unicode scalar value, weighted so 1-, 2-, 3- and 4-byte UTF-8 forms all occur often.</summary>
    private static readonly Gen<int> CodePoint = Gen.Frequency(
        (3, Gen.Choose(0x20, 0x7E)),
        (1, Gen.Choose(0x00, 0x7F)),
        (2, Gen.Choose(0x80, 0x7FF)),
        (2, Gen.Choose(0x800, 0xFFFF - 0x800).Select(c => c >= 0xD800 ? c + 0x800 : c)), // skips the surrogates
        (2, Gen.Choose(0x10000, 0x10FFFF)));

    private static Gen<string> UnicodeString(int maxCodePoints) =>
        from n in Gen.Choose(0, maxCodePoints)
        from cps in Gen.ArrayOf(CodePoint, n)
        select FromCodePoints(cps);

    /// <summary>Random Unicode targets of at most 255 UTF-8 bytes (often close to the limit).</summary>
    private static readonly Gen<string> Target = Gen.Frequency(
        (1, Gen.Constant(string.Empty)),
        (4, UnicodeString(300).Select(s => TakeUtf8(s, OpenStreamFrame.MaxTargetBytes))),
        (2, from budget in Gen.Choose(0, OpenStreamFrame.MaxTargetBytes)
            from s in UnicodeString(300)
            select TakeUtf8(s, budget)));

    /// <summary>Reasons around and far beyond the 256-byte GOAWAY limit.</summary>
    private static readonly Gen<string> Reason = Gen.OneOf(
        UnicodeString(40),
        UnicodeString(600),
        from k in Gen.Choose(240, 260)
        from tail in UnicodeString(20)
        select new string('r', k) + tail,
        from j in Gen.Choose(0, 4) // a multi-byte character straddling byte 256 at every alignment
        from cp in Gen.Choose(0x80, 0x10FFFF).Where(c => c is < 0xD800 or > 0xDFFF)
        from tail in UnicodeString(5)
        select new string('r', GoAwayFrame.MaxReasonBytes - j) + char.ConvertFromUtf32(cp) + tail,
        from cp in CodePoint
        from n in Gen.Choose(60, 270)
        select string.Concat(Enumerable.Repeat(char.ConvertFromUtf32(cp), n)));

    private static readonly Gen<DataCase> DataFrames =
        from max in Gen.Frequency((1, Gen.Constant(SessionSettings.MinFramePayload)), (1, Gen.Constant(FrameHeader.MaxPayload)), (2, Gen.Choose(SessionSettings.MinFramePayload, FrameHeader.MaxPayload)))
        from length in Gen.Frequency((3, Gen.Choose(0, 64)), (3, Gen.Choose(0, max)), (1, Gen.Constant(max)), (1, Gen.Constant(0)))
        from stream in NonZeroStream
        from seed in Seed
        select new DataCase(max, stream, RandomBytes(length, seed));

    private static readonly Gen<OpenStreamFrame> OpenFrames =
        from stream in NonZeroStream
        from subprotocol in Gen.Choose(0, ushort.MaxValue)
        from cls in Gen.Elements(Enum.GetValues<TrafficClass>())
        from credit in AnyWindow
        from target in Target
        select new OpenStreamFrame(stream, (ushort)subprotocol, cls, (uint)credit, target);

    private static readonly Gen<GoAwayFrame> GoAwayFrames =
        from last in AnyUInt32
        from code in AnyCode
        from reason in Reason
        select new GoAwayFrame(last, code, reason);

    private static readonly Gen<HelloFrame> HelloFrames =
        from version in Gen.Choose(0, ushort.MaxValue)
        from maxFrame in Gen.Frequency((1, Gen.Elements(SessionSettings.MinFramePayload, FrameHeader.MaxPayload)), (3, Gen.Choose(SessionSettings.MinFramePayload, FrameHeader.MaxPayload)))
        from streams in AnyWindow
        from streamWindow in AnyWindow
        from sessionWindow in AnyWindow
        select new HelloFrame((ushort)version, new SessionSettings(maxFrame, streams, streamWindow, sessionWindow));

    /// <summary>Any single valid frame with the decoded form the session would see.</summary>
    private static readonly Gen<(byte[] Wire, DecodedFrame Expected)> AnyFrame = Gen.OneOf(
        from stream in NonZeroStream
        from length in Gen.Choose(0, 300)
        from seed in Seed
        let payload = RandomBytes(length, seed)
        select (FrameTestKit.Data(stream, payload), new DecodedFrame(FrameType.Data, stream, Convert.ToHexString(payload))),
        OpenFrames.Select(o => (FrameTestKit.Open(o), new DecodedFrame(FrameType.OpenStream, o.StreamId, o))),
        from stream in Gen.Frequency((1, Gen.Constant(0u)), (2, AnyUInt32))
        from inc in AnyUInt32
        select (FrameTestKit.Credit(stream, inc), new DecodedFrame(FrameType.StreamCredit, stream, inc)),
        NonZeroStream.Select(s => (FrameTestKit.Close(s), new DecodedFrame(FrameType.CloseStream, s, null))),
        from stream in NonZeroStream
        from code in AnyCode
        select (FrameTestKit.Reset(stream, code), new DecodedFrame(FrameType.ResetStream, stream, code)),
        from type in Gen.Elements(FrameType.Ping, FrameType.Pong)
        from opaque in AnyUInt64
        select (FrameTestKit.Ping(type, opaque), new DecodedFrame(type, 0, opaque)),
        GoAwayFrames.Select(g => (FrameTestKit.GoAway(g), new DecodedFrame(FrameType.GoAway, 0, g with { Reason = GoAwayFrame.Truncate(g.Reason) }))),
        HelloFrames.Select(h => (FrameTestKit.Hello(h), new DecodedFrame(FrameType.Hello, 0, h))));

    // ---------------------------------------------------------------- properties, one per frame type

    [Fact]
    public void Data_AnyPayloadUpToLimit_RoundTrips()
    {
        Verify(Prop.ForAll(Arb.From(DataFrames), Arb.From(Seed), (d, split) =>
        {
            byte[] wire = FrameTestKit.Data(d.StreamId, d.Payload);
            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(wire, split, d.MaxPayload);
            Assert.Equal(FrameType.Data, header.Type);
            Assert.Equal(d.StreamId, header.StreamId);
            Assert.Equal(d.Payload.Length, header.Length);
            Assert.Equal(d.Payload, payload.ToArray());
        }));
    }

    [Fact]
    public void OpenStream_AnyFields_RoundTrips()
    {
        Verify(Prop.ForAll(Arb.From(OpenFrames), Arb.From(Seed), (open, split) =>
        {
            int targetBytes = Encoding.UTF8.GetByteCount(open.Target);
            Assert.InRange(targetBytes, 0, OpenStreamFrame.MaxTargetBytes);
            byte[] wire = FrameTestKit.Open(open);
            Assert.Equal(targetBytes, wire[FrameHeader.Size + 8]);

            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(wire, split);
            Assert.Equal(FrameType.OpenStream, header.Type);
            Assert.Equal(open.StreamId, header.StreamId);
            Assert.Equal(OpenStreamFrame.FixedSize + targetBytes, header.Length);

            OpenStreamFrame parsed = OpenStreamFrame.Parse(header, payload);
            Assert.Equal(open.StreamId, parsed.StreamId);
            Assert.Equal(open.Subprotocol, parsed.Subprotocol);
            Assert.Equal(open.Class, parsed.Class);
            Assert.Equal(open.InitialCredit, parsed.InitialCredit);
            Assert.Equal(open.Target, parsed.Target);
            Assert.Equal(open, parsed);
        }), Tests);
    }

    [Fact]
    public void StreamCredit_StreamZeroAndNonZero_RoundTrips()
    {
        Gen<uint> streams = Gen.Frequency((1, Gen.Constant(0u)), (2, NonZeroStream));
        Verify(Prop.ForAll(Arb.From(streams), Arb.From(AnyUInt32), Arb.From(Seed), (stream, increment, split) =>
        {
            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(FrameTestKit.Credit(stream, increment), split);
            Assert.Equal(FrameType.StreamCredit, header.Type);
            Assert.Equal(stream, header.StreamId);
            Assert.Equal(4, header.Length);
            Assert.Equal(increment, FrameReader.ReadUInt32(payload));
        }), Tests);
    }

    [Fact]
    public void CloseStream_AnyStream_RoundTrips()
    {
        Verify(Prop.ForAll(Arb.From(NonZeroStream), Arb.From(Seed), (stream, split) =>
        {
            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(FrameTestKit.Close(stream), split);
            Assert.Equal(FrameType.CloseStream, header.Type);
            Assert.Equal(stream, header.StreamId);
            Assert.Equal(0, header.Length);
            Assert.True(payload.IsEmpty);
        }), Tests);
    }

    [Fact]
    public void ResetStream_AnyCode_RoundTrips()
    {
        Verify(Prop.ForAll(Arb.From(NonZeroStream), Arb.From(AnyCode), Arb.From(Seed), (stream, code, split) =>
        {
            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(FrameTestKit.Reset(stream, code), split);
            Assert.Equal(FrameType.ResetStream, header.Type);
            Assert.Equal(stream, header.StreamId);
            Assert.Equal(4, header.Length);
            Assert.Equal(code, (FabricErrorCode)FrameReader.ReadUInt32(payload));
        }), Tests);
    }

    [Fact]
    public void Ping_AnyOpaque_RoundTrips() => PingOrPongRoundTrips(FrameType.Ping);

    [Fact]
    public void Pong_AnyOpaque_RoundTrips() => PingOrPongRoundTrips(FrameType.Pong);

    [Fact]
    public void GoAway_AnyReason_RoundTripsTruncatedReason()
    {
        Verify(Prop.ForAll(Arb.From(GoAwayFrames), Arb.From(Seed), (goAway, split) =>
        {
            string expectedReason = GoAwayFrame.Truncate(goAway.Reason);
            int reasonBytes = Encoding.UTF8.GetByteCount(expectedReason);
            byte[] wire = FrameTestKit.GoAway(goAway);

            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(wire, split);
            Assert.Equal(FrameType.GoAway, header.Type);
            Assert.Equal(0u, header.StreamId);
            Assert.Equal(GoAwayFrame.FixedSize + reasonBytes, header.Length);
            Assert.InRange(header.Length, GoAwayFrame.FixedSize, GoAwayFrame.FixedSize + GoAwayFrame.MaxReasonBytes);

            GoAwayFrame parsed = GoAwayFrame.Parse(payload);
            Assert.Equal(goAway.LastStreamId, parsed.LastStreamId);
            Assert.Equal(goAway.Code, parsed.Code);
            Assert.Equal(expectedReason, parsed.Reason);
            Assert.StartsWith(parsed.Reason, goAway.Reason, StringComparison.Ordinal);
        }), Tests);
    }

    [Fact]
    public void GoAwayTruncate_AnyReason_IsMaximalValidPrefixOfAtMost256Bytes()
    {
        Verify(Prop.ForAll(Arb.From(Reason), reason =>
        {
            string truncated = GoAwayFrame.Truncate(reason);
            int originalBytes = Encoding.UTF8.GetByteCount(reason);

            // A prefix of the original text...
            Assert.StartsWith(truncated, reason, StringComparison.Ordinal);

            // ...that is valid Unicode (no half surrogate pair: the strict encoder throws on one)...
            int bytes = StrictUtf8.GetByteCount(truncated);
            Assert.Equal(truncated, StrictUtf8.GetString(StrictUtf8.GetBytes(truncated)));

            // ...within the limit...
            Assert.InRange(bytes, 0, GoAwayFrame.MaxReasonBytes);

            // ...and maximal: untouched when it fits, else the next whole character would not have fitted.
            if (originalBytes <= GoAwayFrame.MaxReasonBytes)
            {
                Assert.Equal(reason, truncated);
            }
            else
            {
                Assert.True(truncated.Length < reason.Length);
                Assert.Equal(OperationStatus.Done, Rune.DecodeFromUtf16(reason.AsSpan(truncated.Length), out Rune next, out _));
                Assert.True(bytes + next.Utf8SequenceLength > GoAwayFrame.MaxReasonBytes, $"{bytes} bytes + a {next.Utf8SequenceLength}-byte character would still fit");
            }
        }), 1000);
    }

    [Fact]
    public void Hello_SettingsWithinRanges_RoundTrips()
    {
        Verify(Prop.ForAll(Arb.From(HelloFrames), Arb.From(Seed), (hello, split) =>
        {
            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(FrameTestKit.Hello(hello), split);
            Assert.Equal(FrameType.Hello, header.Type);
            Assert.Equal(0u, header.StreamId);
            Assert.Equal(HelloFrame.FrameSize - FrameHeader.Size, header.Length);

            // All four settings are on the wire, so impossible defaults must never show through.
            HelloFrame parsed = HelloFrame.Parse(payload, new SessionSettings(-1, -1, -1, -1));
            Assert.Equal(hello.Version, parsed.Version);
            Assert.Equal(hello.Settings.MaxFramePayload, parsed.Settings.MaxFramePayload);
            Assert.Equal(hello.Settings.MaxConcurrentStreams, parsed.Settings.MaxConcurrentStreams);
            Assert.Equal(hello.Settings.InitialStreamWindow, parsed.Settings.InitialStreamWindow);
            Assert.Equal(hello.Settings.SessionWindow, parsed.Settings.SessionWindow);
        }), Tests);
    }

    [Fact]
    public void ReadAll_ConcatenationOfRandomFrames_ParsesBackInOrder()
    {
        Gen<(byte[] Wire, DecodedFrame Expected)[]> streams =
            from n in Gen.Choose(0, 40)
            from frames in Gen.ArrayOf(AnyFrame, n)
            select frames;
        Verify(Prop.ForAll(Arb.From(streams), Arb.From(Seed), (frames, split) =>
        {
            byte[] wire = FrameTestKit.Concat(frames.Select(f => f.Wire));
            ReadOnlySequence<byte> buffer = SegmentedSequence.AtRandom(wire, split);

            List<DecodedFrame> parsed = FrameTestKit.ReadAll(ref buffer, FrameHeader.MaxPayload);

            Assert.Equal(frames.Select(f => f.Expected), parsed);
            Assert.Equal(0, buffer.Length);
        }), 200);
    }

    [Fact]
    public void AtRandom_RandomSplits_KeepsBytesAndSplitsForReal()
    {
        // The helper itself: same bytes whatever the split, and multi-segment sequences actually occur.
        byte[] data = RandomBytes(100, 7);
        int multi = 0;
        for (int seed = 0; seed < 200; seed++)
        {
            ReadOnlySequence<byte> sequence = SegmentedSequence.AtRandom(data, seed);
            Assert.Equal(data, sequence.ToArray());
            if (SegmentedSequence.CountNonEmptySegments(sequence) > 2)
            {
                multi++;
            }
        }

        Assert.InRange(multi, 50, 200);
    }

    // ---------------------------------------------------------------- helpers

    private static void PingOrPongRoundTrips(FrameType type)
    {
        Verify(Prop.ForAll(Arb.From(AnyUInt64), Arb.From(Seed), (opaque, split) =>
        {
            (FrameHeader header, ReadOnlySequence<byte> payload) = ReadSingle(FrameTestKit.Ping(type, opaque), split);
            Assert.Equal(type, header.Type);
            Assert.Equal(0u, header.StreamId);
            Assert.Equal(8, header.Length);
            Assert.Equal(opaque, FrameReader.ReadUInt64(payload));
        }), Tests);
    }

    /// <summary>Reads one frame from <paramref name="wire"/> split at random; checks it is exactly the whole buffer.</summary>
    private static (FrameHeader Header, ReadOnlySequence<byte> Payload) ReadSingle(byte[] wire, int splitSeed, int maxDataPayload = FrameHeader.MaxPayload)
    {
        ReadOnlySequence<byte> buffer = SegmentedSequence.AtRandom(wire, splitSeed);
        Assert.Equal(wire.Length, buffer.Length);

        Assert.True(FrameReader.TryReadFrame(ref buffer, maxDataPayload, out FrameHeader header, out ReadOnlySequence<byte> payload));

        Assert.Equal(0, buffer.Length); // fully consumed, nothing more
        Assert.Equal(0, header.Flags);
        Assert.Equal(wire.Length - FrameHeader.Size, header.Length);
        Assert.Equal(header.Length, payload.Length);
        Assert.Equal(wire[FrameHeader.Size..], payload.ToArray());
        return (header, payload);
    }

    private static void Verify(Property property, int maxTest = 100) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithQuietOnSuccess(true), property);

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new System.Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string FromCodePoints(int[] codePoints)
    {
        var sb = new StringBuilder(codePoints.Length * 2);
        foreach (int cp in codePoints)
        {
            sb.Append(char.ConvertFromUtf32(cp));
        }

        return sb.ToString();
    }

    /// <summary>The longest prefix of whole characters of <paramref name="s"/> that fits in <paramref name="maxBytes"/> UTF-8 bytes.</summary>
    private static string TakeUtf8(string s, int maxBytes)
    {
        int bytes = 0, chars = 0;
        foreach (Rune rune in s.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > maxBytes)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            chars += rune.Utf16SequenceLength;
        }

        return s[..chars];
    }

    /// <summary>A DATA frame case; ToString keeps FsCheck's counterexample readable.</summary>
    public sealed record DataCase(int MaxPayload, uint StreamId, byte[] Payload)
    {
        public override string ToString() =>
            $"DataCase(max={MaxPayload}, stream={StreamId}, length={Payload.Length}, head={Convert.ToHexString(Payload.AsSpan(0, Math.Min(16, Payload.Length)))})";
    }
}
