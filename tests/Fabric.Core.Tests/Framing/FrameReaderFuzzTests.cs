using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Fabric.Core.Framing;
using Fabric.Core.Sessions;
using Xunit.Abstractions;

namespace Fabric.Core.Tests.Framing;

/// <summary>
/// Seeded mutation fuzzer over the frame reader and the type parsers, driven by the session's read loop.
/// Defaults: 20000 iterations, fixed seed. A long campaign:
/// <c>FABRIC_FUZZ_ITERATIONS=5000000 FABRIC_FUZZ_SEED=4242 dotnet test tests/Fabric.Core.Tests -c Release --artifacts-path /tmp/art-framing --filter "FullyQualifiedName~Fabric.Core.Tests.Framing.FrameReaderFuzzTests"</c>.
/// A failure names the seed, the iteration and the input bytes.
/// </summary>
public class FrameReaderFuzzTests(ITestOutputHelper output)
{
    private const int DefaultIterations = 20_000;
    private const int DefaultSeed = 0x5EED;

    private static readonly int[] MaxPayloads = [SessionSettings.MinFramePayload, 16 * 1024, FrameHeader.MaxPayload];

    /// <summary>Length values at and around every bound of the reader and the parsers.</summary>
    private static readonly int[] ExtremeLengths = [0, 1, 3, 4, 5, 7, 8, 9, 196, 197, 255, 256, 264, 265, 1023, 1024, 1025, 16384, 16385, 65534, 65535];

    private static readonly string[] TextPieces = ["a", "orders", " ", "é", "ß", "€", "✓", "中文", "𝄞", "🙂", "\0", "Z9"];

    [Fact]
    public void ReadLoop_MutatedFrameStreams_OnlyProtocolErrorsEscape()
    {
        (int iterations, int seed) = Settings();
        byte[][] corpus = BuildCorpus(new System.Random(seed));
        var outcomes = new Dictionary<string, int>();
        long frames = 0;
        var clock = Stopwatch.StartNew();

        for (int i = 0; i < iterations; i++)
        {
            var rng = new System.Random(IterationSeed(seed, i));
            byte[] input = Mutate(rng, corpus);
            int maxPayload = MaxPayloads[rng.Next(MaxPayloads.Length)];
            ReadOnlySequence<byte> sequence = rng.Next(2) == 0 ? new ReadOnlySequence<byte>(input) : SegmentedSequence.AtRandom(input, rng);

            Outcome outcome = Guarded(seed, i, input, maxPayload, () => RunWhole(input, sequence, maxPayload));

            frames += outcome.Frames.Count;
            string key = outcome.Error?.ToString() ?? (outcome.Leftover == 0 ? "clean" : "incomplete");
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }

        clock.Stop();
        output.WriteLine($"seed {seed}, {iterations} iterations in {clock.ElapsedMilliseconds} ms, {frames} frames parsed");
        foreach ((string key, int count) in outcomes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {key}: {count}");
        }

        if (iterations >= 2_000)
        {
            // The mutations must reach every layer: clean parses, waits for more bytes, header and payload rejections.
            Assert.True(frames > iterations, $"only {frames} frames parsed");
            foreach (string key in (string[])["clean", "incomplete", nameof(FabricErrorCode.ProtocolError), nameof(FabricErrorCode.FrameSizeError), nameof(FabricErrorCode.FlowControlError)])
            {
                Assert.True(outcomes.GetValueOrDefault(key) > 0, $"no iteration ended as {key}");
            }
        }
    }

    [Fact]
    public void ReadLoop_MutatedFrameStreamsFedInChunks_MatchesWholeInputParse()
    {
        (int iterations, int seed) = Settings();
        byte[][] corpus = BuildCorpus(new System.Random(seed));
        var clock = Stopwatch.StartNew();

        for (int i = 0; i < iterations; i++)
        {
            var rng = new System.Random(IterationSeed(seed, i));
            byte[] input = Mutate(rng, corpus);
            int maxPayload = MaxPayloads[rng.Next(MaxPayloads.Length)];
            int chunkSeed = rng.Next();

            Outcome whole = Guarded(seed, i, input, maxPayload, () => RunWhole(input, new ReadOnlySequence<byte>(input), maxPayload));
            Outcome chunked = Guarded(seed, i, input, maxPayload, () => RunChunked(input, new System.Random(chunkSeed), maxPayload));

            if (!whole.Frames.SequenceEqual(chunked.Frames) || whole.Error != chunked.Error || whole.Leftover != chunked.Leftover)
            {
                Assert.Fail(
                    $"seed {seed}, iteration {i}, max payload {maxPayload}: chunked parse differs from whole parse.\n" +
                    $"whole:   {whole}\nchunked: {chunked}\ninput: {Convert.ToHexString(input)}");
            }
        }

        output.WriteLine($"seed {seed}, {iterations} iterations in {clock.ElapsedMilliseconds} ms");
    }

    // ================================================================ the read loop

    /// <summary>What one run of the read loop produced.</summary>
    private sealed record Outcome(List<DecodedFrame> Frames, FabricErrorCode? Error, long Leftover)
    {
        public override string ToString() =>
            $"{Frames.Count} frames [{string.Join(", ", Frames.Select(f => f.Type))}], error {Error?.ToString() ?? "none"}, leftover {Leftover}";
    }

    /// <summary>
    /// The session's loop (FabricSession.ReadLoopAsync + HandleFrame) over one buffer holding the whole input:
    /// split frames while the reader can and run each through its type parser.
    /// </summary>
    private static Outcome RunWhole(byte[] input, ReadOnlySequence<byte> sequence, int maxPayload)
    {
        var frames = new List<DecodedFrame>();
        ReadOnlySequence<byte> buffer = sequence;
        try
        {
            while (FrameReader.TryReadFrame(ref buffer, maxPayload, out FrameHeader header, out ReadOnlySequence<byte> payload))
            {
                CheckProgress(input.Length, frames.Count, buffer, header, payload);
                frames.Add(FrameTestKit.Decode(header, payload));
            }

            return new Outcome(frames, null, buffer.Length);
        }
        catch (FabricProtocolException ex)
        {
            return new Outcome(frames, ex.Code, buffer.Length);
        }
    }

    /// <summary>
    /// The same loop over a pipe that delivers the input piecemeal: append a chunk, parse what is whole, keep the
    /// rest for the next read. The buffer handed to the reader has the old rest and the new chunk as two segments.
    /// </summary>
    private static Outcome RunChunked(byte[] input, System.Random rng, int maxPayload)
    {
        var frames = new List<DecodedFrame>();
        byte[] pending = [];
        int offset = 0;
        long consumed = 0;
        try
        {
            while (offset < input.Length)
            {
                int remaining = input.Length - offset;
                int chunk = rng.Next(3) switch
                {
                    0 => 1,
                    1 => rng.Next(1, Math.Min(remaining, 16) + 1),
                    _ => rng.Next(1, remaining + 1),
                };
                int kept = pending.Length;
                pending = [.. pending, .. input.AsSpan(offset, chunk)];
                offset += chunk;

                ReadOnlySequence<byte> buffer = SegmentedSequence.Split(pending, kept);
                while (FrameReader.TryReadFrame(ref buffer, maxPayload, out FrameHeader header, out ReadOnlySequence<byte> payload))
                {
                    consumed += FrameHeader.Size + header.Length;
                    Assert.Equal(header.Length, payload.Length);
                    Assert.True(consumed <= offset, $"consumed {consumed} of {offset} delivered bytes");
                    Assert.True(frames.Count < (input.Length / FrameHeader.Size) + 1, "more frames than the input can hold");
                    frames.Add(FrameTestKit.Decode(header, payload));
                }

                pending = buffer.ToArray();
                Assert.Equal(offset - consumed, pending.Length);
            }

            return new Outcome(frames, null, pending.Length);
        }
        catch (FabricProtocolException ex)
        {
            return new Outcome(frames, ex.Code, input.Length - consumed);
        }
    }

    /// <summary>Each frame consumes exactly its header and payload, never more than the input, so the loop ends.</summary>
    private static void CheckProgress(int inputLength, int framesSoFar, in ReadOnlySequence<byte> rest, in FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        Assert.Equal(header.Length, payload.Length);
        Assert.InRange(rest.Length, 0, inputLength - FrameHeader.Size - header.Length);
        Assert.True(framesSoFar < (inputLength / FrameHeader.Size) + 1, "more frames than the input can hold");
    }

    /// <summary>Runs one loop; anything but a FabricProtocolException fails the test with what reproduces it.</summary>
    private static Outcome Guarded(int seed, int iteration, byte[] input, int maxPayload, Func<Outcome> run)
    {
        try
        {
            return run();
        }
        catch (Exception ex)
        {
            Assert.Fail(
                $"seed {seed}, iteration {iteration}, max payload {maxPayload}: {ex.GetType().Name} escaped the read loop.\n" +
                $"input ({input.Length} bytes): {Convert.ToHexString(input)}\n{ex}");
            throw; // unreachable
        }
    }

    // ================================================================ corpus

    /// <summary>Valid multi-frame streams: the known vectors back to back, then random streams of every type.</summary>
    private static byte[][] BuildCorpus(System.Random rng)
    {
        var corpus = new List<byte[]>
        {
            FrameTestKit.Concat(new[]
            {
                FrameVectors.Hello, FrameVectors.OpenStream, FrameVectors.Data, FrameVectors.StreamCredit, FrameVectors.CloseStream,
                FrameVectors.ResetStream, FrameVectors.Ping, FrameVectors.Pong, FrameVectors.GoAway,
            }.Select(Convert.FromHexString)),
        };
        for (int i = 0; i < 63; i++)
        {
            var frames = new List<byte[]>();
            if (rng.Next(4) != 0)
            {
                frames.Add(RandomFrame(rng, FrameType.Hello));
            }

            int count = rng.Next(1, 10);
            for (int f = 0; f < count; f++)
            {
                frames.Add(RandomFrame(rng, (FrameType)rng.Next(0, 9)));
            }

            corpus.Add(FrameTestKit.Concat(frames));
        }

        return [.. corpus];
    }

    private static byte[] RandomFrame(System.Random rng, FrameType type)
    {
        uint stream = rng.Next(4) == 0 ? (uint)rng.NextInt64(1, uint.MaxValue + 1L) : (uint)rng.Next(1, 20);
        return type switch
        {
            FrameType.Data => FrameTestKit.Data(stream, RandomBytes(rng, rng.Next(8) == 0 ? rng.Next(1000, 1100) : rng.Next(0, 48))),
            FrameType.OpenStream => FrameTestKit.Open(new OpenStreamFrame(
                stream, (ushort)rng.Next(0x10000), (TrafficClass)rng.Next(5), (uint)rng.Next(), RandomText(rng, 40, OpenStreamFrame.MaxTargetBytes))),
            FrameType.StreamCredit => FrameTestKit.Credit(rng.Next(3) == 0 ? 0 : stream, (uint)rng.NextInt64(0, uint.MaxValue + 1L)),
            FrameType.CloseStream => FrameTestKit.Close(stream),
            FrameType.ResetStream => FrameTestKit.Reset(stream, (FabricErrorCode)rng.Next(0, 0x14)),
            FrameType.Ping or FrameType.Pong => FrameTestKit.Ping(type, (ulong)rng.NextInt64()),
            FrameType.GoAway => FrameTestKit.GoAway(new GoAwayFrame(stream, (FabricErrorCode)rng.Next(0, 0x14), RandomText(rng, 120, int.MaxValue))),
            FrameType.Hello => FrameTestKit.Hello(new HelloFrame(
                HelloFrame.CurrentVersion,
                new SessionSettings(rng.Next(1024, 65536), rng.Next(0, 1000), rng.Next(0, int.MaxValue), rng.Next(0, int.MaxValue)))),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    private static string RandomText(System.Random rng, int maxPieces, int maxBytes)
    {
        var sb = new StringBuilder();
        int pieces = rng.Next(maxPieces + 1);
        for (int i = 0; i < pieces; i++)
        {
            string piece = TextPieces[rng.Next(TextPieces.Length)];
            if (Encoding.UTF8.GetByteCount(sb.ToString()) + Encoding.UTF8.GetByteCount(piece) > maxBytes)
            {
                break;
            }

            sb.Append(piece);
        }

        return sb.ToString();
    }

    // ================================================================ mutations

    private static byte[] Mutate(System.Random rng, byte[][] corpus)
    {
        var data = new List<byte>(corpus[rng.Next(corpus.Length)]);
        int mutations = rng.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            switch (rng.Next(10))
            {
                case 0 when data.Count > 0: // bit flip
                    data[rng.Next(data.Count)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when data.Count > 0: // random byte
                    data[rng.Next(data.Count)] = (byte)rng.Next(256);
                    break;
                case 2: // truncate
                    {
                        int keep = rng.Next(data.Count + 1);
                        data.RemoveRange(keep, data.Count - keep);
                        break;
                    }

                case 3: // insert random bytes
                    data.InsertRange(rng.Next(data.Count + 1), RandomBytes(rng, rng.Next(1, 17)));
                    break;
                case 4 when data.Count > 0: // duplicate a slice
                    {
                        int start = rng.Next(data.Count);
                        int length = rng.Next(1, Math.Min(data.Count - start, 64) + 1);
                        data.InsertRange(rng.Next(data.Count + 1), data.GetRange(start, length));
                        break;
                    }

                case 5: // overwrite a frame's length field with a random or extreme value
                    WriteAtHeader(rng, data, 2, ExtremeLength(rng));
                    break;
                case 6: // change a frame's type byte
                    WriteAtHeader(rng, data, 0, rng.Next(3) switch { 0 => rng.Next(0x0C), 1 => rng.Next(0x09, 0x100), _ => rng.Next(0x09) });
                    break;
                case 7: // splice: the front of this input and the back of another
                    {
                        byte[] other = corpus[rng.Next(corpus.Length)];
                        int cut = rng.Next(data.Count + 1);
                        int from = rng.Next(other.Length + 1);
                        data.RemoveRange(cut, data.Count - cut);
                        data.AddRange(other.AsSpan(from).ToArray());
                        break;
                    }

                case 8: // move a frame between stream 0 and a stream
                    WriteAtHeader(rng, data, 4, rng.Next(2) == 0 ? 0 : rng.Next(1, 5));
                    break;
                case 9: // set the reserved flags byte
                    WriteAtHeader(rng, data, 1, rng.Next(4) == 0 ? rng.Next(256) : 0);
                    break;
                default:
                    data.Add((byte)rng.Next(256));
                    break;
            }
        }

        return [.. data];
    }

    private static int ExtremeLength(System.Random rng) => rng.Next(4) switch
    {
        0 => rng.Next(0x10000),
        1 => rng.Next(0, 300),
        _ => ExtremeLengths[rng.Next(ExtremeLengths.Length)],
    };

    /// <summary>
    /// Writes into the header of a frame the stream currently has at a frame boundary (walking the length
    /// fields from the start), or at a random offset when there is none: field 0 = type, 1 = flags, 2 = length
    /// (u16), 4 = stream id (u32).
    /// </summary>
    private static void WriteAtHeader(System.Random rng, List<byte> data, int field, int value)
    {
        var headers = new List<int>();
        for (int at = 0; at + FrameHeader.Size <= data.Count; at += FrameHeader.Size + ((data[at + 2] << 8) | data[at + 3]))
        {
            headers.Add(at);
        }

        int header = headers.Count > 0 && rng.Next(8) != 0 ? headers[rng.Next(headers.Count)] : rng.Next(Math.Max(data.Count - FrameHeader.Size + 1, 1));
        Span<byte> bytes = stackalloc byte[4];
        int width = field switch { 0 or 1 => 1, 2 => 2, _ => 4 };
        switch (width)
        {
            case 1:
                bytes[0] = (byte)value;
                break;
            case 2:
                BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value);
                break;
            default:
                BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value);
                break;
        }

        for (int k = 0; k < width && header + field + k < data.Count; k++)
        {
            data[header + field + k] = bytes[k];
        }
    }

    // ================================================================ helpers

    private static byte[] RandomBytes(System.Random rng, int length)
    {
        var bytes = new byte[length];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static int IterationSeed(int seed, int iteration) => unchecked((seed * 1_000_003) + iteration);

    private static (int Iterations, int Seed) Settings() =>
        (ReadEnv("FABRIC_FUZZ_ITERATIONS", DefaultIterations), ReadEnv("FABRIC_FUZZ_SEED", DefaultSeed));

    private static int ReadEnv(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : fallback;
}
