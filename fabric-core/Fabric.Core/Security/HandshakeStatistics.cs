namespace Fabric.Core.Security;

/// <summary>Handshake outcomes of one endpoint, safe to read from any thread.</summary>
public sealed class HandshakeStatistics
{
    private readonly long[] _failures = new long[(int)HandshakeFailure.Timeout + 1];
    private long _completed;

    /// <summary>Handshakes that produced a link (both roles).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Handshakes that failed or were dropped for <paramref name="failure"/>.</summary>
    public long Failed(HandshakeFailure failure) => Interlocked.Read(ref _failures[(int)failure]);

    /// <summary>All failed or dropped handshakes.</summary>
    public long FailedTotal => _failures.Sum(f => Interlocked.Read(ref f));

    internal void OnCompleted()
    {
        Interlocked.Increment(ref _completed);
        Diagnostics.FabricTelemetry.OnHandshake();
    }

    internal void OnFailed(HandshakeFailure failure)
    {
        Interlocked.Increment(ref _failures[(int)failure]);
        Diagnostics.FabricTelemetry.OnHandshakeFailure(failure);
    }
}
