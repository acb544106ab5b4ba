using Fabric.Core.Sessions;

namespace Fabric.Core.Framing;

/// <summary>
/// A violation of the session protocol by the peer. Always a session (link-wide) error: the session answers
/// it with GOAWAY carrying <see cref="Code"/> and closes.
/// </summary>
internal sealed class FabricProtocolException(FabricErrorCode code, string message) : Exception(message)
{
    public FabricErrorCode Code { get; } = code;
}
