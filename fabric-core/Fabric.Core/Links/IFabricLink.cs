using System.IO.Pipelines;

namespace Fabric.Core.Links;

/// <summary>
/// A byte link between two nodes that a session runs over: a duplex pipe plus a way to tear it down hard.
/// Carriers (TCP, in-memory) implement it, and so does the secure link that wraps a carrier.
/// </summary>
public interface IFabricLink : IDuplexPipe, IAsyncDisposable
{
    /// <summary>A printable description of the far end (address, peer node).</summary>
    string RemoteDescription { get; }

    /// <summary>Closes the link at once; pending reads and writes fail.</summary>
    void Abort();
}
