namespace Fabric.Core.Tests;

/// <summary>
/// Tests whose assertions depend on elapsed time (timeouts, keepalive, throughput) run alone, not next to other
/// test classes competing for the two cores, and with thread-pool headroom (see <see cref="ThreadPoolHeadroom"/>).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection : ICollectionFixture<ThreadPoolHeadroom>
{
    public const string Name = "Timing-sensitive";
}
