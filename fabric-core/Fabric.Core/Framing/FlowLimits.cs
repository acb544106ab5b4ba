namespace Fabric.Core.Framing;

/// <summary>Protocol-wide flow-control bounds.</summary>
internal static class FlowLimits
{
    /// <summary>No window (stream or session) may exceed 2^31-1 bytes; exceeding it is FLOW_CONTROL_ERROR.</summary>
    public const uint MaxWindow = int.MaxValue;
}
