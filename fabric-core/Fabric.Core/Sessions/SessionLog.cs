using Microsoft.Extensions.Logging;

namespace Fabric.Core.Sessions;

/// <summary>Session log messages; event ids 1000-1099 are reserved for sessions.</summary>
internal static partial class SessionLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning, Message = "Peer violated the session protocol ({Code}): {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, FabricErrorCode code, string reason);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Session ({Role}) closed with {Code}: {Reason} (remote: {IsRemote})")]
    public static partial void Closed(ILogger logger, SessionRole role, FabricErrorCode code, string reason, bool isRemote);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Session ({Role}) drained")]
    public static partial void Drained(ILogger logger, SessionRole role);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Session failed internally")]
    public static partial void InternalFailure(ILogger logger, Exception exception);
}
