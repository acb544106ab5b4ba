namespace Fabric.Core.Tests;

/// <summary>
/// Records exceptions of faulted tasks nobody observed (<see cref="TaskScheduler.UnobservedTaskException"/>), so a
/// test can assert that the session let none escape. Only exceptions thrown by the session's and links' own code
/// count (a stack frame in FabricSession or Fabric.Core.Links): exceptions the tests' own tasks or other libraries
/// leave unobserved, possibly from tests running in parallel in the same process, must not fail this one.
/// </summary>
internal static class UnobservedExceptions
{
    private static readonly Lock Sync = new();
    private static readonly List<Exception> Seen = [];

    static UnobservedExceptions()
    {
        TaskScheduler.UnobservedTaskException += (_, e) =>
        {
            lock (Sync)
            {
                Seen.Add(e.Exception);
            }
        };
    }

    /// <summary>Subscribes (idempotent); call at the start of a test so its own tasks are covered.</summary>
    public static void Watch()
    {
        lock (Sync)
        {
            _ = Seen.Count;
        }
    }

    /// <summary>Collects garbage so unobserved faulted tasks are finalized, then fails if any came from Fabric.Core.</summary>
    public static void AssertNoneFromFabricCore()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        lock (Sync)
        {
            Exception? fromCore = Seen.Find(ThrownBySessionMachinery);
            Assert.True(fromCore is null, $"unobserved task exception from Fabric.Core: {fromCore}");
        }
    }

    private static bool ThrownBySessionMachinery(Exception exception)
    {
        IEnumerable<Exception> all = exception is AggregateException aggregate ? aggregate.Flatten().InnerExceptions : [exception];
        return all.Any(e => e.StackTrace is { } stack
            && (stack.Contains("Fabric.Core.Sessions.FabricSession.", StringComparison.Ordinal)
                || stack.Contains("Fabric.Core.Links.", StringComparison.Ordinal)));
    }
}
