namespace Fabric.Core.Sessions;

/// <summary>The stream was reset (RESET_STREAM received or sent); reads and writes on it fail with this.</summary>
public sealed class FabricStreamException : IOException
{
    /// <summary>Creates the exception.</summary>
    public FabricStreamException(FabricErrorCode code, string message, bool isRemote)
        : base(message)
    {
        Code = code;
        IsRemote = isRemote;
    }

    /// <summary>The RESET_STREAM error code.</summary>
    public FabricErrorCode Code { get; }

    /// <summary>True when the peer reset the stream.</summary>
    public bool IsRemote { get; }

    /// <summary>True when the stream was refused before the peer processed it, so it is safe to retry elsewhere.</summary>
    public bool IsRetryable => Code == FabricErrorCode.RefusedStream;
}
