using System.Buffers.Binary;
using System.Security.Cryptography;
using Fabric.Core.Security;

namespace Fabric.Core.Tests.Security;

/// <summary><see cref="RecordSealer"/> and <see cref="RecordOpener"/> on their own (docs/PROTOCOL.md §2.4).</summary>
public class RecordLayerTests
{
    private const uint LinkId = 0xA1B2C3D4;

    private static readonly RecordLimits Small = new()
    {
        RekeyAfterRecords = 4,
        RejectAfterRecords = 8,
        RekeyAfterTime = TimeSpan.FromSeconds(120),
        RejectAfterTime = TimeSpan.FromSeconds(180),
    };

    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    [Theory]
    [InlineData(CipherSuite.ChaCha20Poly1305)]
    [InlineData(CipherSuite.Aes256Gcm)]
    public void Open_SealedRecords_RoundTrip(CipherSuite suite)
    {
        using RecordSealer sealer = NewSealer(suite);
        using RecordOpener opener = NewOpener(suite);
        foreach (int length in new[] { 1, 2, 100, 16 * 1024, RecordFormat.MaxPlaintext })
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(length);
            byte[] record = Seal(sealer, plaintext);
            Assert.Equal(RecordFormat.Overhead + length, record.Length);
            Assert.Equal((byte)SecureRecordType.Transport, record[0]);
            Assert.Equal(12u + (uint)length + 16u, BinaryPrimitives.ReadUInt32BigEndian(record.AsSpan(4)));
            Assert.Equal(LinkId, BinaryPrimitives.ReadUInt32BigEndian(record.AsSpan(8)));
            Assert.False(record.AsSpan(RecordFormat.HeaderSize, length).SequenceEqual(plaintext), "the body must be encrypted");

            Assert.Equal(RecordOpenResult.Ok, Open(opener, record, out byte[] opened));
            Assert.Equal(plaintext, opened);
        }

        Assert.Equal(5ul, sealer.Counter);
    }

    [Fact]
    public void Open_SuiteMismatch_AuthenticationFailed()
    {
        using RecordSealer sealer = NewSealer(CipherSuite.ChaCha20Poly1305);
        using RecordOpener opener = NewOpener(CipherSuite.Aes256Gcm);
        Assert.Equal(RecordOpenResult.AuthenticationFailed, Open(opener, Seal(sealer, [1, 2, 3]), out _));
    }

    [Theory]
    [InlineData(CipherSuite.ChaCha20Poly1305, "tag")]
    [InlineData(CipherSuite.ChaCha20Poly1305, "header")]
    [InlineData(CipherSuite.ChaCha20Poly1305, "ciphertext")]
    [InlineData(CipherSuite.Aes256Gcm, "tag")]
    [InlineData(CipherSuite.Aes256Gcm, "header")]
    [InlineData(CipherSuite.Aes256Gcm, "ciphertext")]
    public void Open_Tampered_AuthenticationFailedAndDestinationZeroed(CipherSuite suite, string where)
    {
        using RecordSealer sealer = NewSealer(suite);
        using RecordOpener opener = NewOpener(suite);
        byte[] plaintext = RandomNumberGenerator.GetBytes(300);
        byte[] record = Seal(sealer, plaintext);
        byte[] good = record.ToArray();
        int index = where switch
        {
            "tag" => record.Length - 3,
            "header" => 19, // low byte of the counter: only the AEAD (associated data and nonce) can notice
            _ => RecordFormat.HeaderSize + 150,
        };
        record[index] ^= 0x01;

        byte[] destination = new byte[plaintext.Length];
        Array.Fill(destination, (byte)0xAA);
        Assert.Equal(RecordOpenResult.AuthenticationFailed, Open(opener, record, destination));
        Assert.All(destination, b => Assert.Equal(0, b));

        // The forgery moved nothing: the genuine record still opens, once.
        Assert.Equal(RecordOpenResult.Ok, Open(opener, good, out byte[] opened));
        Assert.Equal(plaintext, opened);
        Assert.Equal(RecordOpenResult.Replayed, Open(opener, good, out _));
    }

    [Fact]
    public void Open_MalformedShape_MalformedThenNextStillOpens()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener();
        byte[] record = Seal(sealer, [1, 2, 3, 4]);

        byte[] wrongType = record.ToArray();
        wrongType[0] = (byte)SecureRecordType.HandshakeInit;
        byte[] reserved = record.ToArray();
        reserved[3] = 1;
        byte[] lyingLength = record.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(lyingLength.AsSpan(4), 0xFFFFFFFF);

        Assert.Equal(RecordOpenResult.Malformed, Open(opener, wrongType, out _));
        Assert.Equal(RecordOpenResult.Malformed, Open(opener, reserved, out _));
        Assert.Equal(RecordOpenResult.Malformed, Open(opener, lyingLength, out _));
        Assert.Equal(RecordOpenResult.Malformed, opener.Open(record.AsSpan(0, RecordFormat.HeaderSize), record.AsSpan(RecordFormat.HeaderSize, 10), new byte[64]));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, record, out byte[] opened));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, opened);
    }

    [Fact]
    public void Open_AcceptedRecordAgain_ReplayedAndNoPlaintext()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener();
        byte[] first = Seal(sealer, [7, 7, 7]);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, first, out _));

        byte[] destination = new byte[3];
        Assert.Equal(RecordOpenResult.Replayed, Open(opener, first, destination));
        Assert.Equal(new byte[3], destination);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [8]), out byte[] next));
        Assert.Equal(new byte[] { 8 }, next);
    }

    [Fact]
    public void Open_CounterGoesBackwards_ReplayedThenNextStillOpens()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener();
        byte[][] records = [.. Enumerable.Range(0, 4).Select(i => Seal(sealer, [(byte)i]))];
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[0], out _));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[2], out _)); // 1 was lost: ordered mode only needs "greater"
        Assert.Equal(RecordOpenResult.Replayed, Open(opener, records[1], out _));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[3], out byte[] last));
        Assert.Equal(new byte[] { 3 }, last);
    }

    [Fact]
    public void Open_UnorderedOutOfOrderWithinWindow_EachAcceptedOnce()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener(ordered: false);
        byte[][] records = [.. Enumerable.Range(0, 10).Select(i => Seal(sealer, [(byte)i]))];
        foreach (int i in new[] { 5, 3, 9, 0, 1, 8, 2, 4, 7, 6 })
        {
            Assert.Equal(RecordOpenResult.Ok, Open(opener, records[i], out byte[] opened));
            Assert.Equal((byte)i, opened[0]);
        }

        foreach (int i in new[] { 3, 9, 0 })
        {
            byte[] destination = [0];
            Assert.Equal(RecordOpenResult.Replayed, Open(opener, records[i], destination));
            Assert.Equal(0, destination[0]);
        }

        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [10]), out _));
    }

    [Fact]
    public void Open_UnorderedOutsideWindow_Replayed()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener(ordered: false);
        int window = new AntiReplayWindow().WindowSize;
        byte[][] records = [.. Enumerable.Range(0, window + 20).Select(i => Seal(sealer, [(byte)i]))];

        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[window + 10], out _));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[10], out _));    // exactly a window behind: still in
        Assert.Equal(RecordOpenResult.Replayed, Open(opener, records[9], out _)); // one more: too old
        Assert.Equal(RecordOpenResult.Replayed, Open(opener, records[0], out _));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[window + 5], out _));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[window + 19], out _));
    }

    [Fact]
    public void Open_RecordOfPreviousLinkAfterRestart_StaleLink()
    {
        // The previous run of the peer: its own keys and link id.
        byte[] oldSecret = RandomNumberGenerator.GetBytes(32);
        using var oldSealer = new RecordSealer(CipherSuite.ChaCha20Poly1305, oldSecret.ToArray(), 0x01020304, new RecordLimits(), TimeProvider.System);
        byte[][] stale = [.. Enumerable.Range(0, 3).Select(i => Seal(oldSealer, [(byte)i]))];

        // The new link after the restart.
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener();
        foreach (byte[] record in stale)
        {
            Assert.Equal(RecordOpenResult.StaleLink, Open(opener, record, out _));
        }

        // Same link id by chance, other keys: the tag still refuses it.
        using var collidingSealer = new RecordSealer(CipherSuite.ChaCha20Poly1305, oldSecret.ToArray(), LinkId, new RecordLimits(), TimeProvider.System);
        Assert.Equal(RecordOpenResult.AuthenticationFailed, Open(opener, Seal(collidingSealer, [9]), out _));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [1]), out _));
    }

    [Fact]
    public void Open_AfterSenderKeyUpdate_FollowsAndRefusesOldGeneration()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener();
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [0]), out _));
        byte[] delayedOldKey = Seal(sealer, [1]);

        sealer.NextGeneration();
        byte[] next = Seal(sealer, [2]);
        Assert.Equal(1, next[1]);
        Assert.Equal(0ul, BinaryPrimitives.ReadUInt64BigEndian(next.AsSpan(12)));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, next, out byte[] opened));
        Assert.Equal(new byte[] { 2 }, opened);
        Assert.Equal(1, opener.Generation);
        Assert.Equal(1, opener.KeyUpdates);

        Assert.Equal(RecordOpenResult.StaleGeneration, Open(opener, delayedOldKey, out _));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [3]), out _));
    }

    [Fact]
    public void Open_GenerationPlusTwo_StaleGenerationAndNoMove()
    {
        using RecordSealer sealer = NewSealer();
        using RecordSealer jumper = NewSealer();
        using RecordOpener opener = NewOpener();
        jumper.NextGeneration();
        jumper.NextGeneration();
        Assert.Equal(RecordOpenResult.StaleGeneration, Open(opener, Seal(jumper, [1]), out _));
        Assert.Equal(0, opener.Generation);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [2]), out _));
    }

    [Fact]
    public void Open_ForgedNextGeneration_AuthenticationFailedAndKeyKept()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener();
        byte[] forged = Seal(sealer, [1, 2, 3]);
        forged[1] = 1; // claims the next generation; the tag was made under generation 0
        Assert.Equal(RecordOpenResult.AuthenticationFailed, Open(opener, forged, out _));
        Assert.Equal(0, opener.Generation);
        Assert.Equal(0, opener.KeyUpdates);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [4]), out byte[] opened));
        Assert.Equal(new byte[] { 4 }, opened);
    }

    [Fact]
    public void Open_GenerationWrapsAt256_Follows()
    {
        using RecordSealer sealer = NewSealer();
        using RecordOpener opener = NewOpener();
        for (int g = 0; g < 260; g++)
        {
            Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [(byte)g]), out _));
            sealer.NextGeneration();
        }

        Assert.Equal(259 % 256, opener.Generation); // the last record opened was generation 259, which is 3 mod 256
        Assert.Equal(259, opener.KeyUpdates);
    }

    [Fact]
    public void Seal_RekeyAfterRecords_MovesToNextGenerationAndOpenerFollows()
    {
        using RecordSealer sealer = NewSealer(limits: Small);
        using RecordOpener opener = NewOpener(limits: Small);
        for (int i = 0; i < 10; i++)
        {
            byte[] record = Seal(sealer, [(byte)i]);
            Assert.Equal((byte)(i / 4), record[1]);
            Assert.Equal((ulong)(i % 4), BinaryPrimitives.ReadUInt64BigEndian(record.AsSpan(12)));
            Assert.Equal(RecordOpenResult.Ok, Open(opener, record, out _));
        }

        Assert.Equal(2, sealer.KeyUpdates);
        Assert.Equal(2, opener.KeyUpdates);
    }

    [Fact]
    public void Open_CounterAtRejectAfterRecords_CounterLimit()
    {
        // A sender that ignores the limits (it never rekeys) against a receiver that enforces them.
        var lax = new RecordLimits { RekeyAfterRecords = 100, RejectAfterRecords = 200 };
        using RecordSealer sealer = NewSealer(limits: lax);
        using RecordOpener opener = NewOpener(limits: Small);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [(byte)i]), out _));
        }

        byte[] destination = [0];
        Assert.Equal(RecordOpenResult.CounterLimit, Open(opener, Seal(sealer, [8]), destination));
        Assert.Equal(0, destination[0]);
        Assert.Equal(RecordOpenResult.CounterLimit, Open(opener, Seal(sealer, [9]), out _));

        sealer.NextGeneration();
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [10]), out byte[] opened));
        Assert.Equal(new byte[] { 10 }, opened);
    }

    [Fact]
    public void Seal_KeyOlderThanRekeyAfterTime_MovesToNextGeneration()
    {
        var clock = new ManualTimeProvider();
        using RecordSealer sealer = NewSealer(limits: Small, time: clock);
        using RecordOpener opener = NewOpener(limits: Small, time: clock);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, Seal(sealer, [0]), out _));

        clock.Advance(TimeSpan.FromSeconds(119));
        byte[] stillOld = Seal(sealer, [1]);
        Assert.Equal(0, stillOld[1]);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, stillOld, out _));

        clock.Advance(TimeSpan.FromSeconds(1));
        byte[] renewed = Seal(sealer, [2]);
        Assert.Equal(1, renewed[1]);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, renewed, out _));
        Assert.Equal(1, opener.Generation);
        Assert.Equal(1, sealer.KeyUpdates);
    }

    [Fact]
    public void Open_KeyOlderThanRejectAfterTime_KeyExpiredThenNewKeyOpens()
    {
        var clock = new ManualTimeProvider();
        using RecordSealer sealer = NewSealer(limits: Small, time: clock);
        using RecordOpener opener = NewOpener(limits: Small, time: clock);
        byte[][] records = [.. Enumerable.Range(0, 3).Select(i => Seal(sealer, [(byte)i]))]; // all under generation 0
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[0], out _));

        clock.Advance(TimeSpan.FromSeconds(180));
        Assert.Equal(RecordOpenResult.Ok, Open(opener, records[1], out _)); // exactly 180 s: still allowed

        clock.Advance(TimeSpan.FromTicks(1));
        byte[] destination = [0xAA];
        Assert.Equal(RecordOpenResult.KeyExpired, Open(opener, records[2], destination));
        Assert.Equal(0xAA, destination[0]); // refused before any decryption

        byte[] renewed = Seal(sealer, [3]); // the sealer's key is past 120 s: it moves on
        Assert.Equal(1, renewed[1]);
        Assert.Equal(RecordOpenResult.Ok, Open(opener, renewed, out byte[] opened));
        Assert.Equal(new byte[] { 3 }, opened);
    }

    private RecordSealer NewSealer(CipherSuite suite = CipherSuite.ChaCha20Poly1305, RecordLimits? limits = null, TimeProvider? time = null)
        => new(suite, _secret.ToArray(), LinkId, limits ?? new RecordLimits(), time ?? TimeProvider.System);

    private RecordOpener NewOpener(CipherSuite suite = CipherSuite.ChaCha20Poly1305, RecordLimits? limits = null, TimeProvider? time = null, bool ordered = true)
        => new(suite, _secret.ToArray(), LinkId, limits ?? new RecordLimits(), time ?? TimeProvider.System, ordered);

    private static byte[] Seal(RecordSealer sealer, ReadOnlySpan<byte> plaintext)
    {
        byte[] record = new byte[RecordFormat.Overhead + plaintext.Length];
        plaintext.CopyTo(record.AsSpan(RecordFormat.HeaderSize));
        sealer.Seal(record, plaintext.Length);
        return record;
    }

    private static RecordOpenResult Open(RecordOpener opener, byte[] record, out byte[] plaintext)
    {
        plaintext = new byte[Math.Max(0, record.Length - RecordFormat.Overhead)];
        return Open(opener, record, plaintext);
    }

    private static RecordOpenResult Open(RecordOpener opener, byte[] record, byte[] destination)
        => opener.Open(record.AsSpan(0, RecordFormat.HeaderSize), record.AsSpan(RecordFormat.HeaderSize), destination);
}
