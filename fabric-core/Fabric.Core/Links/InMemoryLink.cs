using System.IO.Pipelines;

namespace Fabric.Core.Links;

/// <summary>An in-process link: two cross-connected pipes. For tests and for two nodes in one process.</summary>
public sealed class InMemoryLink : IFabricLink
{
    private readonly Pipe _incoming;
    private readonly Pipe _outgoing;

    private InMemoryLink(Pipe incoming, Pipe outgoing, string description)
    {
        _incoming = incoming;
        _outgoing = outgoing;
        RemoteDescription = description;
    }

    /// <inheritdoc/>
    public PipeReader Input => _incoming.Reader;

    /// <inheritdoc/>
    public PipeWriter Output => _outgoing.Writer;

    /// <inheritdoc/>
    public string RemoteDescription { get; }

    /// <summary>Creates the two ends of one link.</summary>
    public static (InMemoryLink A, InMemoryLink B) CreatePair(PipeOptions? options = null)
    {
        options ??= new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);
        var aToB = new Pipe(options);
        var bToA = new Pipe(options);
        return (new InMemoryLink(bToA, aToB, "in-memory:b"), new InMemoryLink(aToB, bToA, "in-memory:a"));
    }

    /// <summary>
    /// Cuts the link as a failed cable would: this end's pending read and flush return canceled, the session over it
    /// completes its pipe ends, and the peer sees the link end without GOAWAY. (Completing the pipes here would race
    /// the session's own loops, which own those ends.)
    /// </summary>
    public void Abort()
    {
        _incoming.Reader.CancelPendingRead();
        _outgoing.Writer.CancelPendingFlush();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _outgoing.Writer.Complete();
        _incoming.Reader.Complete();
        return default;
    }
}
