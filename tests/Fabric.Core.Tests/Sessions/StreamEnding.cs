namespace Fabric.Core.Tests.Sessions;

/// <summary>How one side of a stream ends in <see cref="StreamChurnTests"/>.</summary>
internal enum StreamEnding
{
    Graceful,
    DisposeEarly,
    Abort,
}
