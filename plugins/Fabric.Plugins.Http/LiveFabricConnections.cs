using System.Collections.Concurrent;
using Fabric.Abstractions;
using Fabric.Plugins.Shared;

namespace Fabric.Plugins.Http;

/// <summary>
/// The fabric connections the proxy's HTTP client pool holds. Idle pooled connections keep their fabric streams
/// open; when the driver stops (after Kestrel has drained its requests) they are closed at once instead of holding
/// the node's drain until the pool's idle timeout.
/// </summary>
internal sealed class LiveFabricConnections
{
    private readonly ConcurrentDictionary<FabricConnectionStream, byte> _open = new();

    /// <summary>Number of connections open now.</summary>
    public int Count => _open.Count;

    /// <summary>Wraps <paramref name="connection"/> in a stream that is tracked until it is disposed.</summary>
    public FabricConnectionStream Track(FabricConnection connection)
    {
        var stream = new FabricConnectionStream(connection, s => _open.TryRemove(s, out _));
        _open.TryAdd(stream, 0);
        return stream;
    }

    /// <summary>Disposes every connection still open.</summary>
    public async Task CloseAllAsync()
    {
        foreach (FabricConnectionStream stream in _open.Keys)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
