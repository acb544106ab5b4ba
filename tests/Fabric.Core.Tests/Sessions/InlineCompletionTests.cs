using System.Diagnostics;
using Fabric.Core.Sessions;

namespace Fabric.Core.Tests.Sessions;

/// <summary>Where session work runs: inline read completions (InlineInteractiveCompletions) and the inline writer wake-up.</summary>
public class InlineCompletionTests
{
    [Theory]
    [InlineData(TrafficClass.Interactive, true, true)]
    [InlineData(TrafficClass.Interactive, false, false)]
    [InlineData(TrafficClass.Reliable, true, false)]
    public async Task ReadAsync_PendingWhenDataArrives_ContinuesOnReadLoopOnlyForInlineInteractive(TrafficClass trafficClass, bool inline, bool expectReadLoop)
    {
        var options = new FabricSessionOptions { InlineInteractiveCompletions = inline };
        await using var pair = await SessionPair.StartAsync(options, options);
        var (a, b) = await pair.A.OpenPairAsync(pair.B, trafficClass);

        Task<int> read = b.ReadAsync(new byte[16]).AsTask();
        Assert.False(read.IsCompleted);
        Task<string> continued = read.ContinueWith(
            _ => new StackTrace().ToString(),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        await a.WriteAsync("ping"u8.ToArray()).WaitAsync(TestTimeouts.Short);
        string stack = await continued.WaitAsync(TestTimeouts.Short);
        Assert.Equal(4, await read.WaitAsync(TestTimeouts.Short));
        Assert.Equal(expectReadLoop, stack.Contains("ReadLoopAsync", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WriteAsync_FromThreadWithSynchronizationContext_WriterNeverPostsToIt()
    {
        await using var pair = await SessionPair.StartAsync();
        var (a, b) = await pair.A.OpenPairAsync(pair.B);
        await Task.Delay(50).WaitAsync(TestTimeouts.Short); // the writer is idle: the next write wakes it inline
        Task<byte[]> received = b.ReadToEndAsync();

        // The wake-up may run the writer on the caller's thread, but the rest of its batch must go to the thread
        // pool, not to the caller's context (a UI thread would end up running the session's writer).
        var context = new RecordingSynchronizationContext();
        SynchronizationContext? previous = SynchronizationContext.Current;
        ValueTask write;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            write = a.WriteAsync(new byte[200_000]);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        await write.WaitAsync(TestTimeouts.Short);
        a.CompleteWrites();
        Assert.Equal(200_000, (await received.WaitAsync(TestTimeouts.Short)).Length);
        Assert.Equal(0, context.Posts);
    }
}
