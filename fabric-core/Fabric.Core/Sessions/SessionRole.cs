namespace Fabric.Core.Sessions;

/// <summary>Which end of the link a session is. It fixes stream id parity so the two sides never collide.</summary>
public enum SessionRole
{
    /// <summary>The side that dialed the link; opens odd stream ids.</summary>
    Initiator,

    /// <summary>The side that accepted the link; opens even stream ids.</summary>
    Acceptor,
}
