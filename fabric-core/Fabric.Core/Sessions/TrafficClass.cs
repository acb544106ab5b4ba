namespace Fabric.Core.Sessions;

/// <summary>
/// Scheduling class of a stream. The writer serves classes in strict priority (lower value first); streams of
/// one class share the link by deficit round robin.
/// </summary>
public enum TrafficClass : byte
{
    /// <summary>Session control frames; streams of this class go ahead of all data (directory, routing).</summary>
    Control = 0,

    /// <summary>Latency-sensitive request/response and keystrokes.</summary>
    Interactive = 1,

    /// <summary>Ordinary reliable traffic (the default).</summary>
    Reliable = 2,

    /// <summary>Large transfers that should yield to everything else.</summary>
    Bulk = 3,

    /// <summary>
    /// Lowest priority; a write that does not fit in the stream's send buffer is dropped whole (and counted)
    /// instead of waiting. Suits telemetry whose messages are written one per call.
    /// </summary>
    Droppable = 4,
}
