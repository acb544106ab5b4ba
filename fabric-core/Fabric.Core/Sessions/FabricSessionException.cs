namespace Fabric.Core.Sessions;

/// <summary>The session ended (GOAWAY received or sent, link lost, protocol error); every stream on it fails with this.</summary>
public sealed class FabricSessionException : IOException
{
    /// <summary>Creates the exception.</summary>
    public FabricSessionException(FabricErrorCode code, string message, bool isRemote)
        : base(message)
    {
        Code = code;
        IsRemote = isRemote;
    }

    /// <summary>The error code of the GOAWAY or of the local failure.</summary>
    public FabricErrorCode Code { get; }

    /// <summary>True when the peer ended the session (it sent GOAWAY).</summary>
    public bool IsRemote { get; }
}
