using System.IO.Pipelines;
using Fabric.Core.Links;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests;

/// <summary>Two started sessions over one in-memory link (A initiates, B accepts).</summary>
internal sealed class SessionPair : IAsyncDisposable
{
    private SessionPair(FabricSession a, FabricSession b)
    {
        A = a;
        B = b;
    }

    public FabricSession A { get; }

    public FabricSession B { get; }

    public static Task<SessionPair> StartAsync(FabricSessionOptions? a = null, FabricSessionOptions? b = null)
    {
        var (linkA, linkB) = InMemoryLink.CreatePair();
        return StartAsync(linkA, linkB, a, b);
    }

    /// <summary>Starts the two sessions over the two ends of any link (A initiates on <paramref name="linkA"/>).</summary>
    public static async Task<SessionPair> StartAsync(IDuplexPipe linkA, IDuplexPipe linkB, FabricSessionOptions? a = null, FabricSessionOptions? b = null)
    {
        var sa = new FabricSession(linkA, SessionRole.Initiator, a);
        var sb = new FabricSession(linkB, SessionRole.Acceptor, b);
        sa.Start();
        sb.Start();
        await Task.WhenAll(sa.Ready, sb.Ready).WaitAsync(TimeSpan.FromSeconds(10));
        return new SessionPair(sa, sb);
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        await B.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
    }
}
