using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Fabric.Core.Discovery;
using Fabric.Core.Security;
using Fabric.Core.Subprotocols;
using Fabric.Core.Tests.Framing;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace Fabric.Core.Tests.Discovery;

/// <summary>
/// <see cref="ControlMessage"/> (docs/PROTOCOL.md §3.3): round trips, incremental reads, header checks made before a
/// body is buffered, body decoders, and a seeded mutation fuzzer over streams of valid messages run the way
/// ControlChannel and DirectoryGossip consume them. Fuzz defaults: 20000 iterations, fixed seed; override with
/// FABRIC_FUZZ_ITERATIONS and FABRIC_FUZZ_SEED. A failure names the seed, the iteration and the input bytes.
/// </summary>
public class ControlMessageTests(ITestOutputHelper output)
{
    private const int DefaultIterations = 20_000;
    private const int DefaultSeed = 0x5EED;

    private static readonly int[] ExtremeLengths = [0, 1, 2, 4, 5, 6, 7, 8, 9, 31, 32, 33, 64, 65, 71, 72, 255, 256, 1024, 65535, 65536, ControlMessage.MaxBody, ControlMessage.MaxBody + 1, 0x7FFFFF, 0xFFFFFF];

    private static readonly Gen<SubprotocolDescriptor> Descriptors =
        from id in Gen.Choose(0, ushort.MaxValue)
        from name in Gen.Frequency((1, Gen.Constant(string.Empty)), (6, Utf8Gen.Text(1, SubprotocolDescriptor.MaxNameBytes)))
        from v in Gen.ArrayOf(Gen.Choose(0, 255), 4)
        select new SubprotocolDescriptor((ushort)id, name, new SubprotocolVersion((byte)v[0], (byte)v[1]), new SubprotocolVersion((byte)v[2], (byte)v[3]));

    private static readonly Gen<SubprotocolManifest> Manifests =
        from count in Gen.Frequency((6, Gen.Choose(0, 20)), (1, Gen.Choose(0, SubprotocolManifest.MaxDescriptors)), (1, Gen.Constant(SubprotocolManifest.MaxDescriptors)))
        from list in Gen.ArrayOf(Descriptors, count)
        select new SubprotocolManifest(list);

    // ---------------------------------------------------------------- round trips

    [Fact]
    public void Manifest_RandomDescriptors_RoundTripsThroughTryRead()
    {
        Property property = Prop.ForAll(Arb.From(Manifests), Arb.From(Gen.Choose(0, int.MaxValue)), (manifest, split) =>
        {
            byte[] wire = ControlMessage.Manifest(manifest);
            ReadOnlySequence<byte> body = ReadSingle(wire, split, ControlMessageType.Manifest);
            SubprotocolManifest back = ControlMessage.ReadManifest(body.ToArray());
            Assert.Equal(manifest.Descriptors, back.Descriptors);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true), property);
    }

    [Fact]
    public void Manifest_Empty_IsCountZero()
    {
        byte[] wire = ControlMessage.Manifest(new SubprotocolManifest([]));
        Assert.Equal("01000002" + "0000", Convert.ToHexString(wire));
        Assert.Empty(ControlMessage.ReadManifest(wire.AsSpan(4)).Descriptors);
    }

    [Fact]
    public void Manifest_KnownDescriptor_MatchesDocumentedLayout()
    {
        byte[] wire = ControlMessage.Manifest(new SubprotocolManifest([new SubprotocolDescriptor(0x2201, "ab", new SubprotocolVersion(1, 2), new SubprotocolVersion(1, 0))]));
        Assert.Equal("01" + "00000B" + "0001" + "2201" + "01" + "02" + "01" + "00" + "02" + "6162", Convert.ToHexString(wire));
    }

    [Fact]
    public void Manifest_NameAbove64Bytes_ArgumentException()
    {
        var descriptor = new SubprotocolDescriptor(0x2201, new string('n', SubprotocolDescriptor.MaxNameBytes + 1), new SubprotocolVersion(1, 0), new SubprotocolVersion(1, 0));
        Assert.Throws<ArgumentException>(() => ControlMessage.Manifest(new SubprotocolManifest([descriptor])));
        var huge = descriptor with { Name = new string('n', 300) }; // a length that does not even fit the u8 field
        Assert.Throws<ArgumentException>(() => ControlMessage.Manifest(new SubprotocolManifest([huge])));
    }

    [Fact]
    public void Manifest_MoreThanMaxDescriptors_ArgumentException()
    {
        SubprotocolDescriptor[] list = [.. Enumerable.Range(0, SubprotocolManifest.MaxDescriptors + 1).Select(i => new SubprotocolDescriptor((ushort)i, "n", default, default))];
        Assert.Throws<ArgumentException>(() => ControlMessage.Manifest(new SubprotocolManifest(list)));
    }

    [Theory]
    [InlineData(0, 0L)]
    [InlineData(1, 1L)]
    [InlineData(16, 123_456L)]
    [InlineData(255, uint.MaxValue)]
    public void Announce_HopsAndRtt_RoundTrip(int hops, long rttMicroseconds)
    {
        NodeAnnouncement a = DiscoveryKit.Announce(DiscoveryKit.SharedIdentities[0], 7, null, DiscoveryKit.Replica("orders"));
        byte[] wire = ControlMessage.Announce(a, hops, TimeSpan.FromMicroseconds(rttMicroseconds));
        ReadOnlySequence<byte> body = ReadSingle(wire, hops, ControlMessageType.Announce);
        (NodeAnnouncement back, int backHops, TimeSpan rtt) = ControlMessage.ReadAnnounce(body.ToArray());
        Assert.Equal(a.Encoded, back.Encoded);
        Assert.Equal(hops, backHops);
        Assert.Equal(TimeSpan.FromMicroseconds(rttMicroseconds), rtt);
        Assert.True(back.VerifySignature());
    }

    [Theory]
    [InlineData(256, 255)]
    [InlineData(int.MaxValue, 255)]
    [InlineData(-1, 0)]
    [InlineData(int.MinValue, 0)]
    public void Announce_HopsOutOfRange_Clamped(int hops, int expected)
    {
        NodeAnnouncement a = DiscoveryKit.Announce(DiscoveryKit.SharedIdentities[0]);
        Assert.Equal(expected, ControlMessage.ReadAnnounce(ControlMessage.Announce(a, hops, TimeSpan.Zero).AsSpan(4)).Hops);
    }

    [Fact]
    public void Announce_RttOutOfRange_Clamped()
    {
        NodeAnnouncement a = DiscoveryKit.Announce(DiscoveryKit.SharedIdentities[0]);
        Assert.Equal(TimeSpan.Zero, ControlMessage.ReadAnnounce(ControlMessage.Announce(a, 1, TimeSpan.FromSeconds(-1)).AsSpan(4)).Rtt);
        Assert.Equal(TimeSpan.FromMicroseconds(uint.MaxValue), ControlMessage.ReadAnnounce(ControlMessage.Announce(a, 1, TimeSpan.FromDays(2)).AsSpan(4)).Rtt);
    }

    [Fact]
    public void Announce_LargestAnnouncement_FitsMaxBody()
    {
        RawAnnouncement raw = RawAnnouncement.SignedBy(DiscoveryKit.SharedIdentities[0]);
        raw.Replicas = [.. Enumerable.Range(0, 126).Select(i => new RawReplica(new byte[255].Select(_ => (byte)'s').ToArray(), Encoding.ASCII.GetBytes(new string('i', 250) + i.ToString("d5", CultureInfo.InvariantCulture)), 1, 0, 0, []))];
        raw.Certificate = new byte[NodeAnnouncement.MaxSize - raw.EncodeUnsigned().Length - 64];
        NodeAnnouncement a = NodeAnnouncement.Parse(raw.Encode());
        Assert.Equal(NodeAnnouncement.MaxSize, a.Encoded.Length);
        byte[] wire = ControlMessage.Announce(a, 16, TimeSpan.FromMilliseconds(3));
        ReadOnlySequence<byte> body = ReadSingle(wire, 1, ControlMessageType.Announce);
        Assert.Equal(a.Encoded, ControlMessage.ReadAnnounce(body.ToArray()).Announcement.Encoded);
    }

    [Fact]
    public void Withdraw_RandomOrigin_RoundTrips()
    {
        NodeId origin = DiscoveryKit.RandomNodeId();
        byte[] wire = ControlMessage.Withdraw(origin);
        Assert.Equal(4 + NodeId.Size, wire.Length);
        Assert.Equal("03000020", Convert.ToHexString(wire, 0, 4));
        Assert.Equal(origin, ControlMessage.ReadWithdraw(ReadSingle(wire, 3, ControlMessageType.Withdraw).ToArray()));
    }

    // ---------------------------------------------------------------- TryRead

    [Fact]
    public void TryRead_EveryStrictPrefix_NeedsMoreAndConsumesNothing()
    {
        foreach (byte[] wire in SampleMessages())
        {
            for (int length = 0; length < wire.Length; length++)
            {
                foreach (ReadOnlySequence<byte> prefix in (ReadOnlySequence<byte>[])[new(wire, 0, length), SegmentedSequence.AtRandom(wire[..length], length)])
                {
                    ReadOnlySequence<byte> buffer = prefix;
                    Assert.False(ControlMessage.TryRead(ref buffer, out _, out _), $"{length} of {wire.Length} bytes read as a whole message");
                    Assert.Equal(length, buffer.Length);
                }
            }
        }
    }

    [Fact]
    public void TryRead_ConcatenatedMessages_ReadsEachInOrderAndKeepsTheRest()
    {
        byte[][] messages = SampleMessages();
        byte[] partial = ControlMessage.Withdraw(DiscoveryKit.RandomNodeId())[..10];
        byte[] stream = [.. messages.SelectMany(m => m), .. partial];
        ReadOnlySequence<byte> buffer = SegmentedSequence.AtRandom(stream, 42);
        foreach (byte[] message in messages)
        {
            Assert.True(ControlMessage.TryRead(ref buffer, out ControlMessageType type, out ReadOnlySequence<byte> body));
            Assert.Equal(message[0], (byte)type);
            Assert.Equal(message[4..], body.ToArray());
        }

        Assert.False(ControlMessage.TryRead(ref buffer, out _, out _));
        Assert.Equal(partial, buffer.ToArray());
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x04)]
    [InlineData(0x80)]
    [InlineData(0xFF)]
    public void TryRead_UnknownType_FormatExceptionFromHeaderAlone(int type)
    {
        var buffer = new ReadOnlySequence<byte>([(byte)type, 0, 0, 32]);
        Assert.Throws<FormatException>(() => ControlMessage.TryRead(ref buffer, out _, out _));
    }

    [Theory]
    [InlineData(ControlMessage.MaxBody + 1)]
    [InlineData(0x100000)]
    [InlineData(0xFFFFFF)]
    public void TryRead_LengthAboveMaxBody_FormatExceptionFromHeaderAlone(int length)
    {
        foreach (ControlMessageType type in Enum.GetValues<ControlMessageType>())
        {
            var buffer = new ReadOnlySequence<byte>([(byte)type, (byte)(length >> 16), (byte)(length >> 8), (byte)length]);
            Assert.Throws<FormatException>(() => ControlMessage.TryRead(ref buffer, out _, out _));
        }
    }

    [Fact]
    public void TryRead_LengthExactlyMaxBody_WaitsForTheBody()
    {
        int length = ControlMessage.MaxBody;
        byte[] header = [(byte)ControlMessageType.Announce, (byte)(length >> 16), (byte)(length >> 8), (byte)length];
        var buffer = new ReadOnlySequence<byte>(header);
        Assert.False(ControlMessage.TryRead(ref buffer, out _, out _));
        var whole = new ReadOnlySequence<byte>([.. header, .. new byte[length]]);
        Assert.True(ControlMessage.TryRead(ref whole, out _, out ReadOnlySequence<byte> body));
        Assert.Equal(length, body.Length);
        Assert.Equal(0, whole.Length);
    }

    // ---------------------------------------------------------------- body decoders

    public static TheoryData<string, string> BadManifests => new()
    {
        { "empty", string.Empty },
        { "one byte", "00" },
        { "count above 1024", "0401" },
        { "count 65535", "FFFF" },
        { "count 1, no descriptor", "0001" },
        { "descriptor cut in its fixed part", "0001" + "220101000100" },
        { "name cut", "0001" + "2201010001000361" },
        { "name above 64 bytes", "0001" + "22010100010041" + new string('6', 130) },
        { "name not UTF-8", "0001" + "220101000100" + "02C328" },
        { "trailing byte", "0001" + "220101000100" + "0161" + "00" },
        { "count 0 and trailing bytes", "0000" + "01" },
        { "count 2, one descriptor", "0002" + "220101000100" + "0161" },
    };

    [Theory]
    [MemberData(nameof(BadManifests))]
    public void ReadManifest_Malformed_FormatException(string what, string hex)
    {
        Assert.False(string.IsNullOrEmpty(what));
        Assert.Throws<FormatException>(() => ControlMessage.ReadManifest(Convert.FromHexString(hex)));
    }

    [Fact]
    public void ReadManifest_1024Descriptors_Accepted()
    {
        var body = new List<byte> { 0x04, 0x00 };
        for (int i = 0; i < SubprotocolManifest.MaxDescriptors; i++)
        {
            body.AddRange([(byte)(i >> 8), (byte)i, 1, 0, 1, 0, 0]);
        }

        Assert.Equal(SubprotocolManifest.MaxDescriptors, ControlMessage.ReadManifest([.. body]).Descriptors.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(200)]
    public void ReadAnnounce_ShortOrGarbage_FormatException(int length)
    {
        byte[] body = new byte[length];
        Assert.Throws<FormatException>(() => ControlMessage.ReadAnnounce(body));
    }

    [Fact]
    public void ReadAnnounce_AnnouncementWithTrailingByte_FormatException()
    {
        byte[] wire = ControlMessage.Announce(DiscoveryKit.Announce(DiscoveryKit.SharedIdentities[0]), 1, TimeSpan.Zero);
        Assert.Throws<FormatException>(() => ControlMessage.ReadAnnounce([.. wire.AsSpan(4), 0]));
        Assert.Throws<FormatException>(() => ControlMessage.ReadAnnounce(wire.AsSpan(4, wire.Length - 5)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(64)]
    public void ReadWithdraw_NotExactly32Bytes_FormatException(int length)
    {
        byte[] body = new byte[length];
        Assert.Throws<FormatException>(() => ControlMessage.ReadWithdraw(body));
    }

    // ---------------------------------------------------------------- fuzz

    [Fact]
    public void ReadLoop_MutatedMessageStreams_OnlyFormatExceptionsEscape()
    {
        (int iterations, int seed) = Settings();
        var rng0 = new System.Random(seed);
        NodeIdentity self = Deterministic(100);
        NodeIdentity[] origins = [.. Enumerable.Range(1, 4).Select(Deterministic)];
        byte[][] corpus = BuildCorpus(rng0, origins);
        var registry = new SubprotocolRegistry();
        registry.Register(new SubprotocolDescriptor(CoreSubprotocols.Control, "fabric.control", new SubprotocolVersion(1, 0), new SubprotocolVersion(1, 0)), allowCore: true);
        registry.Register(new SubprotocolDescriptor(0x2201, "sample.vendor", new SubprotocolVersion(1, 3), new SubprotocolVersion(1, 0)));
        FabricTrust trust = DiscoveryKit.Pinning(origins);
        var outcomes = new Dictionary<string, int>();
        long messages = 0, accepted = 0, malformed = 0;
        var clock = Stopwatch.StartNew();

        for (int i = 0; i < iterations; i++)
        {
            var rng = new System.Random(unchecked((seed * 1_000_003) + i));
            byte[] input = Mutate(rng, corpus);
            int splitSeed = rng.Next();
            var directory = new ServiceDirectory(self, trust);
            var gossip = new DirectoryGossip(directory);
            var from = new RecordingChannel(origins[0].Id, TimeSpan.FromMilliseconds(1));
            gossip.AddChannel(from);
            gossip.AddChannel(new RecordingChannel(origins[1].Id, TimeSpan.FromMilliseconds(2)));

            Outcome whole, split;
            try
            {
                whole = Run(new ReadOnlySequence<byte>(input), registry, gossip, from);
                split = Run(SegmentedSequence.AtRandom(input, splitSeed), registry, null, null);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}, iteration {i}: {ex.GetType().Name} escaped the control read loop.\ninput ({input.Length} bytes): {Convert.ToHexString(input)}\n{ex}");
                throw;
            }

            if (whole.ToString() != split.ToString())
            {
                Assert.Fail($"seed {seed}, iteration {i}: segmented read differs.\nwhole: {whole}\nsplit: {split}\ninput: {Convert.ToHexString(input)}");
            }

            messages += whole.Messages.Count;
            malformed += directory.Statistics.Ignored(IgnoredReason.Malformed);
            accepted += directory.Statistics.Accepted;
            outcomes[whole.End] = outcomes.GetValueOrDefault(whole.End) + 1;
        }

        output.WriteLine($"seed {seed}, {iterations} iterations in {clock.ElapsedMilliseconds} ms: {messages} messages, {accepted} announcements accepted, {malformed} malformed");
        foreach ((string key, int count) in outcomes.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {key}: {count}");
        }

        if (iterations >= 2_000)
        {
            Assert.True(accepted > 0 && malformed > 0 && messages > iterations, $"fuzz too shallow: {messages} messages, {accepted} accepted, {malformed} malformed");
            foreach (string key in (string[])["clean", "incomplete", "header", "manifest"])
            {
                Assert.True(outcomes.GetValueOrDefault(key) > 0, $"no iteration ended as {key}");
            }
        }
    }

    /// <summary>What one read loop saw: each message's type and body length, and how it ended.</summary>
    private sealed record Outcome(List<string> Messages, string End)
    {
        public override string ToString() => $"[{string.Join(", ", Messages)}] {End}";
    }

    /// <summary>
    /// ControlChannel.ReadLoopAsync: split messages while possible; a FormatException from the header or a MANIFEST
    /// ends the stream; ANNOUNCE and WITHDRAW go to the gossip, which counts and drops malformed ones.
    /// </summary>
    private static Outcome Run(ReadOnlySequence<byte> sequence, SubprotocolRegistry registry, DirectoryGossip? gossip, IControlChannel? from)
    {
        var seen = new List<string>();
        ReadOnlySequence<byte> buffer = sequence;
        long before = buffer.Length;
        string stage = "header";
        try
        {
            while (ControlMessage.TryRead(ref buffer, out ControlMessageType type, out ReadOnlySequence<byte> body))
            {
                Assert.Equal(before - ControlMessage.HeaderSize - body.Length, buffer.Length);
                Assert.InRange(body.Length, 0, ControlMessage.MaxBody);
                before = buffer.Length;
                seen.Add($"{type}:{body.Length}");
                switch (type)
                {
                    case ControlMessageType.Manifest:
                        stage = "manifest";
                        NegotiatedSubprotocols negotiated = registry.Negotiate(ControlMessage.ReadManifest(body.ToArray()));
                        Assert.True(negotiated.Agreed.Count <= 2);
                        stage = "header";
                        break;
                    case ControlMessageType.Announce:
                        try
                        {
                            ControlMessage.ReadAnnounce(body.ToArray());
                        }
                        catch (FormatException)
                        {
                            seen[^1] += ":malformed";
                        }

                        gossip?.OnMessage(from!, type, body);
                        break;
                    default:
                        try
                        {
                            ControlMessage.ReadWithdraw(body.ToArray());
                        }
                        catch (FormatException)
                        {
                            seen[^1] += ":malformed";
                        }

                        gossip?.OnMessage(from!, type, body);
                        break;
                }
            }

            return new Outcome(seen, buffer.Length == 0 ? "clean" : "incomplete");
        }
        catch (FormatException)
        {
            return new Outcome(seen, stage);
        }
    }

    private static byte[][] BuildCorpus(System.Random rng, NodeIdentity[] origins)
    {
        NodeAnnouncement[] announcements =
        [
            .. origins.Select((o, i) => NodeAnnouncement.Create(o, (ulong)(i + 1), TimeSpan.FromSeconds(30), (byte)(i * 20), "node-é" + i, ["relay", "entry"], [0x0001, 0x2201], [new ServiceReplica("orders", "i" + i, [0x2201, 0x0100], 5, 1, ReplicaHealth.Degraded)])),
            NodeAnnouncement.Create(origins[0], 99, TimeSpan.FromSeconds(5), 0, string.Empty, [], [], [], [1, 2, 3]),
        ];
        var corpus = new List<byte[]>();
        for (int i = 0; i < 48; i++)
        {
            var stream = new List<byte>();
            int count = rng.Next(1, 7);
            for (int m = 0; m < count; m++)
            {
                stream.AddRange(rng.Next(3) switch
                {
                    0 => ControlMessage.Manifest(new SubprotocolManifest([.. Enumerable.Range(0, rng.Next(0, 5)).Select(_ => new SubprotocolDescriptor(
                        rng.Next(2) == 0 ? (ushort)0x2201 : (ushort)rng.Next(0x10000),
                        new[] { "fabric.control", "sample.vendor", "é€𝄞", string.Empty }[rng.Next(4)],
                        new SubprotocolVersion((byte)rng.Next(3), (byte)rng.Next(3)),
                        new SubprotocolVersion((byte)rng.Next(2), (byte)rng.Next(3))))])),
                    1 => ControlMessage.Announce(announcements[rng.Next(announcements.Length)], rng.Next(4) == 0 ? rng.Next(256) : rng.Next(4), TimeSpan.FromMicroseconds(rng.Next(100_000))),
                    _ => ControlMessage.Withdraw(rng.Next(2) == 0 ? origins[rng.Next(origins.Length)].Id : DiscoveryKit.RandomNodeId()),
                });
            }

            corpus.Add([.. stream]);
        }

        return [.. corpus];
    }

    private static byte[] Mutate(System.Random rng, byte[][] corpus)
    {
        var data = new List<byte>(corpus[rng.Next(corpus.Length)]);
        int mutations = rng.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            switch (rng.Next(10))
            {
                case 0 when data.Count > 0:
                    data[rng.Next(data.Count)] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when data.Count > 0:
                    data[rng.Next(data.Count)] = (byte)rng.Next(256);
                    break;
                case 2:
                    {
                        int keep = rng.Next(data.Count + 1);
                        data.RemoveRange(keep, data.Count - keep);
                        break;
                    }

                case 3:
                    {
                        var bytes = new byte[rng.Next(1, 17)];
                        rng.NextBytes(bytes);
                        data.InsertRange(rng.Next(data.Count + 1), bytes);
                        break;
                    }

                case 4 when data.Count > 0:
                    {
                        int start = rng.Next(data.Count);
                        data.InsertRange(rng.Next(data.Count + 1), data.GetRange(start, rng.Next(1, Math.Min(data.Count - start, 64) + 1)));
                        break;
                    }

                case 5 when data.Count >= 4: // a length field, at a message boundary or anywhere
                    {
                        int at = rng.Next(2) == 0 ? MessageStart(rng, data) : rng.Next(data.Count - 3);
                        int length = ExtremeLengths[rng.Next(ExtremeLengths.Length)] + (rng.Next(3) - 1);
                        length = Math.Clamp(length, 0, 0xFFFFFF);
                        data[at + 1] = (byte)(length >> 16);
                        data[at + 2] = (byte)(length >> 8);
                        data[at + 3] = (byte)length;
                        break;
                    }

                case 6 when data.Count > 0: // a type byte
                    data[MessageStart(rng, data)] = (byte)(rng.Next(4) == 0 ? rng.Next(256) : rng.Next(0, 5));
                    break;
                case 7:
                    {
                        byte[] other = corpus[rng.Next(corpus.Length)];
                        int cut = rng.Next(data.Count + 1);
                        data.RemoveRange(cut, data.Count - cut);
                        data.AddRange(other.AsSpan(rng.Next(other.Length + 1)).ToArray());
                        break;
                    }

                case 8 when data.Count >= 6: // a u8 or u16 count or length inside a body
                    {
                        int at = rng.Next(data.Count - 1);
                        ushort value = (ushort)ExtremeLengths[rng.Next(ExtremeLengths.Length)];
                        if (rng.Next(2) == 0)
                        {
                            data[at] = (byte)value;
                        }
                        else
                        {
                            data[at] = (byte)(value >> 8);
                            data[at + 1] = (byte)value;
                        }

                        break;
                    }

                default:
                    break;
            }
        }

        return [.. data];
    }

    /// <summary>The offset of a message header in the (possibly already mutated) stream, following lengths from the start.</summary>
    private static int MessageStart(System.Random rng, List<byte> data)
    {
        var starts = new List<int>();
        int at = 0;
        while (at + 4 <= data.Count)
        {
            starts.Add(at);
            at += 4 + ((data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]);
        }

        return starts.Count == 0 ? 0 : starts[rng.Next(starts.Count)];
    }

    private static NodeIdentity Deterministic(int n)
    {
        var scalar = new byte[32];
        scalar[0] = 0x11;
        BinaryPrimitives.WriteInt32BigEndian(scalar.AsSpan(28), n);
        return NodeIdentity.FromPrivateScalar(scalar);
    }

    private static (int Iterations, int Seed) Settings() =>
        (ReadEnv("FABRIC_FUZZ_ITERATIONS", DefaultIterations), ReadEnv("FABRIC_FUZZ_SEED", DefaultSeed));

    private static int ReadEnv(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : fallback;

    // ---------------------------------------------------------------- helpers

    private static byte[][] SampleMessages() =>
    [
        ControlMessage.Manifest(new SubprotocolManifest([new SubprotocolDescriptor(0x0001, "fabric.control", new(1, 0), new(1, 0)), new SubprotocolDescriptor(0x2201, "sample.vendor-€", new(2, 1), new(1, 9))])),
        ControlMessage.Manifest(new SubprotocolManifest([])),
        ControlMessage.Announce(DiscoveryKit.Announce(DiscoveryKit.SharedIdentities[1], 3, null, DiscoveryKit.Replica("orders")), 2, TimeSpan.FromMilliseconds(12)),
        ControlMessage.Withdraw(DiscoveryKit.SharedIdentities[2].Id),
    ];

    /// <summary>Reads one message from <paramref name="wire"/> split at random; checks it is the whole buffer.</summary>
    private static ReadOnlySequence<byte> ReadSingle(byte[] wire, int splitSeed, ControlMessageType expected)
    {
        ReadOnlySequence<byte> buffer = SegmentedSequence.AtRandom(wire, splitSeed);
        Assert.True(ControlMessage.TryRead(ref buffer, out ControlMessageType type, out ReadOnlySequence<byte> body));
        Assert.Equal(expected, type);
        Assert.Equal(0, buffer.Length);
        Assert.Equal(wire.Length - ControlMessage.HeaderSize, body.Length);
        Assert.Equal(wire[ControlMessage.HeaderSize..], body.ToArray());
        return body;
    }
}
