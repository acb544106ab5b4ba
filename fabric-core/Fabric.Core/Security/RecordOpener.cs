using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// Opens incoming transport records for one direction of a link. Cheap checks (shape, link id, generation,
/// counter order, key age) come before the AEAD; the plaintext buffer holds nothing usable unless the result is
/// <see cref="RecordOpenResult.Ok"/>. A record under the next key generation moves the opener to that key and
/// erases the old one; records under older keys are refused. Not thread-safe: the link's reader owns it.
/// </summary>
internal sealed class RecordOpener : IDisposable
{
    private readonly CipherSuite _suite;
    private readonly uint _linkId;
    private readonly RecordLimits _limits;
    private readonly TimeProvider _time;
    private readonly bool _ordered;
    private byte[] _secret;
    private RecordAead _aead;
    private byte _generation;
    private long _generationStart;
    private ulong _nextCounter;            // ordered carriers: counters strictly increase
    private AntiReplayWindow? _window;     // unordered carriers

    public RecordOpener(CipherSuite suite, byte[] secret, uint linkId, RecordLimits limits, TimeProvider time, bool orderedCarrier = true)
    {
        _suite = suite;
        _secret = secret;
        _linkId = linkId;
        _limits = limits;
        _time = time;
        _ordered = orderedCarrier;
        _aead = new RecordAead(suite, secret);
        _generationStart = time.GetTimestamp();
        _window = orderedCarrier ? null : new AntiReplayWindow();
    }

    public byte Generation => _generation;

    public long KeyUpdates { get; private set; }

    /// <summary>Opens one record: <paramref name="header"/> is its first 20 bytes, <paramref name="sealedBody"/> the ciphertext and tag.</summary>
    public RecordOpenResult Open(ReadOnlySpan<byte> header, ReadOnlySpan<byte> sealedBody, Span<byte> plaintext)
    {
        RecordPrefix prefix = RecordPrefix.Read(header);
        int plaintextLength = sealedBody.Length - RecordFormat.TagSize;
        if (prefix.Type != SecureRecordType.Transport || prefix.Reserved != 0 || plaintextLength < 0
            || prefix.BodyLength != 12 + (uint)sealedBody.Length || plaintext.Length < plaintextLength)
        {
            return RecordOpenResult.Malformed;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(header[8..]) != _linkId)
        {
            return RecordOpenResult.StaleLink;
        }

        ulong counter = BinaryPrimitives.ReadUInt64BigEndian(header[12..]);
        if (counter >= _limits.RejectAfterRecords)
        {
            return RecordOpenResult.CounterLimit;
        }

        Span<byte> nonce = stackalloc byte[12];
        RecordFormat.Nonce(nonce, counter);
        ReadOnlySpan<byte> ciphertext = sealedBody[..plaintextLength];
        ReadOnlySpan<byte> tag = sealedBody[plaintextLength..];
        Span<byte> output = plaintext[..plaintextLength];

        if (prefix.Generation == _generation)
        {
            if (_time.GetElapsedTime(_generationStart) > _limits.RejectAfterTime)
            {
                return RecordOpenResult.KeyExpired;
            }

            if (_ordered && counter < _nextCounter)
            {
                return RecordOpenResult.Replayed;
            }

            try
            {
                _aead.Decrypt(nonce, ciphertext, tag, output, header[..RecordFormat.HeaderSize]);
            }
            catch (CryptographicException)
            {
                return RecordOpenResult.AuthenticationFailed;
            }

            if (!AcceptCounter(counter))
            {
                output.Clear();
                return RecordOpenResult.Replayed;
            }

            return RecordOpenResult.Ok;
        }

        if (prefix.Generation != (byte)(_generation + 1))
        {
            return RecordOpenResult.StaleGeneration;
        }

        // The sender moved to the next key: try it without committing, so a forged record cannot move us.
        byte[] next = RecordFormat.NextSecret(_secret);
        var nextAead = new RecordAead(_suite, next);
        try
        {
            nextAead.Decrypt(nonce, ciphertext, tag, output, header[..RecordFormat.HeaderSize]);
        }
        catch (CryptographicException)
        {
            nextAead.Dispose();
            CryptographicOperations.ZeroMemory(next);
            return RecordOpenResult.AuthenticationFailed;
        }

        CryptographicOperations.ZeroMemory(_secret);
        _aead.Dispose();
        _secret = next;
        _aead = nextAead;
        _generation++;
        _generationStart = _time.GetTimestamp();
        _nextCounter = 0;
        _window = _ordered ? null : new AntiReplayWindow();
        KeyUpdates++;
        AcceptCounter(counter);
        return RecordOpenResult.Ok;
    }

    private bool AcceptCounter(ulong counter)
    {
        if (_ordered)
        {
            if (counter < _nextCounter)
            {
                return false;
            }

            _nextCounter = counter + 1;
            return true;
        }

        return _window!.TryAccept(counter);
    }

    public void Dispose()
    {
        _aead.Dispose();
        CryptographicOperations.ZeroMemory(_secret);
    }
}
