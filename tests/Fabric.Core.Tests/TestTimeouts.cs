namespace Fabric.Core.Tests;

/// <summary>Upper bounds for awaits in the session and link tests: a hang fails fast instead of stalling the run.</summary>
internal static class TestTimeouts
{
    /// <summary>For anything that should finish at once or nearly (handshakes, single frames, small transfers).</summary>
    public static readonly TimeSpan Short = TimeSpan.FromSeconds(5);

    /// <summary>For bulk transfers and closes that may wait for a grace period.</summary>
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(15);
}
