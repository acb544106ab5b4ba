using System.Security.Cryptography;

namespace Fabric.Core.Security;

/// <summary>
/// Seals outgoing transport records for one direction of a link, in place. Counters start at 0 for each key
/// generation; the key moves to the next generation by count or age; past the hard limit nothing is sealed.
/// Not thread-safe: the link's single writer owns it.
/// </summary>
internal sealed class RecordSealer : IDisposable
{
    private readonly CipherSuite _suite;
    private readonly uint _linkId;
    private readonly RecordLimits _limits;
    private readonly TimeProvider _time;
    private byte[] _secret;
    private RecordAead _aead;
    private byte _generation;
    private ulong _counter;
    private long _generationStart;
    private volatile bool _updateRequested;

    public RecordSealer(CipherSuite suite, byte[] secret, uint linkId, RecordLimits limits, TimeProvider time)
    {
        _suite = suite;
        _secret = secret;
        _linkId = linkId;
        _limits = limits;
        _time = time;
        _aead = new RecordAead(suite, secret);
        _generationStart = time.GetTimestamp();
    }

    public byte Generation => _generation;

    public ulong Counter => _counter;

    public long KeyUpdates { get; private set; }

    /// <summary>
    /// Seals the record laid out in <paramref name="record"/>: 20 header bytes (written here), then
    /// <paramref name="plaintextLength"/> bytes of plaintext (encrypted in place), then 16 bytes for the tag.
    /// </summary>
    public void Seal(Span<byte> record, int plaintextLength)
    {
        if (_updateRequested || _counter >= _limits.RekeyAfterRecords || _time.GetElapsedTime(_generationStart) >= _limits.RekeyAfterTime)
        {
            _updateRequested = false;
            NextGeneration();
        }

        if (_counter >= _limits.RejectAfterRecords)
        {
            throw new CryptographicException("record counter exhausted for this key");
        }

        RecordFormat.WriteHeader(record, _generation, plaintextLength, _linkId, _counter);
        Span<byte> nonce = stackalloc byte[12];
        RecordFormat.Nonce(nonce, _counter);
        Span<byte> body = record.Slice(RecordFormat.HeaderSize, plaintextLength);
        _aead.Encrypt(nonce, body, body, record.Slice(RecordFormat.HeaderSize + plaintextLength, RecordFormat.TagSize), record[..RecordFormat.HeaderSize]);
        _counter++;
    }

    /// <summary>Asks for a key update at the next seal (safe from any thread).</summary>
    public void RequestUpdate() => _updateRequested = true;

    /// <summary>Moves to the next key generation and erases the old key. Writer thread only.</summary>
    public void NextGeneration()
    {
        byte[] next = RecordFormat.NextSecret(_secret);
        CryptographicOperations.ZeroMemory(_secret);
        _aead.Dispose();
        _secret = next;
        _aead = new RecordAead(_suite, next);
        _generation++;
        _counter = 0;
        _generationStart = _time.GetTimestamp();
        KeyUpdates++;
    }

    public void Dispose()
    {
        _aead.Dispose();
        CryptographicOperations.ZeroMemory(_secret);
    }
}
