using Fabric.Core.Sessions;

namespace Fabric.Core.Routing;

/// <summary>No replica of a service could be reached: the code says why (NO_ROUTE, ACCESS_DENIED, ...).</summary>
public sealed class FabricRouteException(FabricErrorCode code, string message, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The reason, as a fabric error code.</summary>
    public FabricErrorCode Code { get; } = code;
}
