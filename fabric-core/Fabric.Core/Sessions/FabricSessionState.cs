namespace Fabric.Core.Sessions;

/// <summary>Life cycle of a session (docs/PROTOCOL.md, "Session state machine").</summary>
public enum FabricSessionState
{
    /// <summary>HELLO sent, the peer's not yet received.</summary>
    Handshaking,

    /// <summary>Both HELLOs exchanged; streams open freely.</summary>
    Open,

    /// <summary>GOAWAY sent or received: no new streams; open ones finish.</summary>
    Draining,

    /// <summary>The session has ended.</summary>
    Closed,
}
