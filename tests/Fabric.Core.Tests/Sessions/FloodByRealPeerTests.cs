using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>
/// A real session that trips the peer's flood caps learns why: its CloseError carries the peer's GOAWAY code
/// (remote), not a bare LINK_LOST, even while it is still busy writing when the peer gives up on it.
/// </summary>
public class FloodByRealPeerTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task RapidAborts_PeerResetCapExceeded_CloseErrorIsRemoteEnhanceYourCalm(int round)
    {
        _ = round;
        var strict = new FabricSessionOptions { Flood = new FloodLimits { MaxResetsPerSecond = 50 } };
        await using var pair = await SessionPair.StartAsync(b: strict);

        // Keep A's writer busy with bulk data while it aborts stream after stream.
        FabricStream bulk = await pair.A.OpenStreamAsync(0x0100, "bulk", TrafficClass.Bulk).WaitAsync(TestTimeouts.Short);
        FabricStream? bulkB = await pair.B.AcceptStreamAsync().WaitAsync(TestTimeouts.Short);
        Assert.NotNull(bulkB);
        Task drain = Task.Run(async () =>
        {
            try
            {
                await bulkB.CopyToAsync(Stream.Null).WaitAsync(TestTimeouts.Long);
            }
            catch (IOException)
            {
            }
        });
        Task pump = Task.Run(async () =>
        {
            try
            {
                byte[] chunk = new byte[64 * 1024];
                while (true)
                {
                    await bulk.WriteAsync(chunk).WaitAsync(TestTimeouts.Long);
                }
            }
            catch (IOException)
            {
            }
        });

        try
        {
            for (int i = 0; i < 200 && pair.A.State == FabricSessionState.Open; i++)
            {
                FabricStream s = await pair.A.OpenStreamAsync(0x0100, "x").WaitAsync(TestTimeouts.Short);
                s.Abort();
            }
        }
        catch (FabricSessionException)
        {
        }

        await pair.A.Completion.WaitAsync(TestTimeouts.Short);
        await pair.B.Completion.WaitAsync(TestTimeouts.Short);
        await Task.WhenAll(pump, drain).WaitAsync(TestTimeouts.Short);
        Assert.Equal(FabricErrorCode.EnhanceYourCalm, pair.B.CloseError?.Code);
        FabricSessionException? error = pair.A.CloseError;
        Assert.NotNull(error);
        Assert.True(error.Code == FabricErrorCode.EnhanceYourCalm && error.IsRemote, $"A closed with {error.Code} (remote: {error.IsRemote}): {error.Message}");
    }
}
