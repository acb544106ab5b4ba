using Fabric.Abstractions;
using Microsoft.Extensions.Primitives;

namespace Fabric.Plugins.Http;

/// <summary>
/// The fabric, once the plugin has started (the proxy's services are built before), and a change token that fires
/// when the fabric comes up or its replicas change.
/// </summary>
internal sealed class FabricHolder : IDisposable
{
    private readonly Lock _lock = new();
    private CancellationTokenSource _changed = new();
    private IFabric? _fabric;

    public IFabric? Current => Volatile.Read(ref _fabric);

    public void Set(IFabric fabric)
    {
        Volatile.Write(ref _fabric, fabric);
        fabric.ReplicasChanged += Signal;
        Signal();
    }

    public void Clear(IFabric fabric)
    {
        fabric.ReplicasChanged -= Signal;
        Volatile.Write(ref _fabric, null);
        Signal();
    }

    public IChangeToken ChangeToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _changed.Dispose();
        }
    }

    private void Signal()
    {
        CancellationTokenSource old;
        lock (_lock)
        {
            old = _changed;
            _changed = new CancellationTokenSource();
        }

        // Not disposed: YARP may still register on a token of it, which then runs at once (it is cancelled).
        old.Cancel();
    }
}
