namespace Fabric.Core.Security;

/// <summary>Record counters of one secure link, safe to read from any thread.</summary>
public sealed class SecureLinkStatistics
{
    private readonly long[] _rejected = new long[(int)RecordOpenResult.AuthenticationFailed + 1];
    private long _recordsSealed;
    private long _bytesSealed;
    private long _recordsOpened;
    private long _bytesOpened;

    /// <summary>Records sent.</summary>
    public long RecordsSealed => Interlocked.Read(ref _recordsSealed);

    /// <summary>Plaintext bytes sent.</summary>
    public long BytesSealed => Interlocked.Read(ref _bytesSealed);

    /// <summary>Records received and authenticated.</summary>
    public long RecordsOpened => Interlocked.Read(ref _recordsOpened);

    /// <summary>Plaintext bytes received.</summary>
    public long BytesOpened => Interlocked.Read(ref _bytesOpened);

    /// <summary>Records refused for <paramref name="reason"/>.</summary>
    public long Rejected(RecordOpenResult reason) => Interlocked.Read(ref _rejected[(int)reason]);

    /// <summary>All refused records.</summary>
    public long RejectedTotal => _rejected.Sum(r => Interlocked.Read(ref r));

    internal void OnSealed(int plaintextBytes)
    {
        Interlocked.Increment(ref _recordsSealed);
        Interlocked.Add(ref _bytesSealed, plaintextBytes);
    }

    internal void OnOpened(int plaintextBytes)
    {
        Interlocked.Increment(ref _recordsOpened);
        Interlocked.Add(ref _bytesOpened, plaintextBytes);
    }

    internal long OnRejected(RecordOpenResult reason)
    {
        Interlocked.Increment(ref _rejected[(int)reason]);
        Diagnostics.FabricTelemetry.OnRecordRejected();
        return RejectedTotal;
    }
}
