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

    public static async Task<SessionPair> StartAsync(FabricSessionOptions? a = null, FabricSessionOptions? b = null)
    {
        var (linkA, linkB) = InMemoryLink.CreatePair();
        var sa = new FabricSession(linkA, SessionRole.Initiator, a);
        var sb = new FabricSession(linkB, SessionRole.Acceptor, b);
        sa.Start();
        sb.Start();
        await Task.WhenAll(sa.Ready, sb.Ready).WaitAsync(TimeSpan.FromSeconds(10));
        return new SessionPair(sa, sb);
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}
