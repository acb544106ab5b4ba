namespace Fabric.Core.Tests;

/// <summary>Polls a condition that another thread makes true (stream table counts, states) until a deadline.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TestTimeouts.Short);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for: {what}");
            }

            await Task.Delay(5).WaitAsync(TestTimeouts.Short);
        }
    }
}
