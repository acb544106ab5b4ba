namespace Fabric.Plugins.Grpc;

/// <summary>gRPC status codes (https://github.com/grpc/grpc/blob/master/doc/statuscodes.md).</summary>
public enum GrpcStatusCode
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>Cancelled, typically by the caller.</summary>
    Cancelled = 1,

    /// <summary>Unknown error.</summary>
    Unknown = 2,

    /// <summary>The client sent something invalid.</summary>
    InvalidArgument = 3,

    /// <summary>The deadline passed before the call completed.</summary>
    DeadlineExceeded = 4,

    /// <summary>Something was not found.</summary>
    NotFound = 5,

    /// <summary>Already exists.</summary>
    AlreadyExists = 6,

    /// <summary>Not allowed.</summary>
    PermissionDenied = 7,

    /// <summary>A limit was reached.</summary>
    ResourceExhausted = 8,

    /// <summary>The system is not in a state for the call.</summary>
    FailedPrecondition = 9,

    /// <summary>Aborted.</summary>
    Aborted = 10,

    /// <summary>Out of range.</summary>
    OutOfRange = 11,

    /// <summary>The method or service is not served.</summary>
    Unimplemented = 12,

    /// <summary>Internal error.</summary>
    Internal = 13,

    /// <summary>The service is unavailable (retrying may help).</summary>
    Unavailable = 14,

    /// <summary>Data loss.</summary>
    DataLoss = 15,

    /// <summary>No valid credentials.</summary>
    Unauthenticated = 16,
}
