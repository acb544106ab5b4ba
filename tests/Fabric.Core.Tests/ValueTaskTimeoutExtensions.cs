namespace Fabric.Core.Tests;

/// <summary><c>WaitAsync(TimeSpan)</c> for <see cref="ValueTask"/>s, so every await in the tests can carry a timeout.</summary>
internal static class ValueTaskTimeoutExtensions
{
    public static Task<T> WaitAsync<T>(this ValueTask<T> task, TimeSpan timeout) => task.AsTask().WaitAsync(timeout);

    public static Task WaitAsync(this ValueTask task, TimeSpan timeout) => task.AsTask().WaitAsync(timeout);
}
