using Fabric.Core.Framing;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Checks shared by the bad-input tests: the exact GOAWAY on the wire, the local close, nothing escaping.</summary>
internal static class SessionErrorAssert
{
    /// <summary>
    /// The session sends GOAWAY with <paramref name="code"/>, closes its sending direction, completes, and reports
    /// the same code as a local (not remote) <see cref="FabricSession.CloseError"/>. No task exception goes unobserved.
    /// </summary>
    public static async Task<GoAwayFrame> ClosedWithAsync(RawPeer peer, FabricErrorCode code)
    {
        GoAwayFrame goAway = await peer.ExpectGoAwayAsync(code);
        await peer.ExpectLinkEndAsync();
        await peer.Session.Completion.WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricSessionState.Closed, peer.Session.State);
        FabricSessionException? error = peer.Session.CloseError;
        Assert.NotNull(error);
        Assert.Equal(code, error.Code);
        Assert.False(error.IsRemote);
        UnobservedExceptions.AssertNoneFromFabricCore();
        return goAway;
    }
}
