using Microsoft.AspNetCore.Http;

namespace Fabric.Plugins.Grpc;

/// <summary>CORS for browser gRPC-Web clients, for the origins in <see cref="GrpcDriverOptions.GrpcWebAllowedOrigins"/>.</summary>
internal static class GrpcWebCors
{
    private const string ExposedHeaders = "grpc-status, grpc-message, grpc-status-details-bin";

    /// <summary>Answers a preflight: 204 with the allowances for an allowed origin, 403 otherwise.</summary>
    public static void Preflight(HttpContext context, IReadOnlyList<string> allowedOrigins)
    {
        string? origin = context.Request.Headers.Origin;
        if (!IsAllowed(origin, allowedOrigins))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        IHeaderDictionary headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        headers.Vary = "Origin";
        headers.AccessControlAllowMethods = "POST";
        headers.AccessControlAllowHeaders = context.Request.Headers.AccessControlRequestHeaders.Count > 0
            ? context.Request.Headers.AccessControlRequestHeaders
            : "content-type, x-grpc-web, x-user-agent, grpc-timeout";
        headers.AccessControlMaxAge = "600";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>Adds the CORS response headers to a call from an allowed origin.</summary>
    public static void Apply(HttpContext context, IReadOnlyList<string> allowedOrigins)
    {
        string? origin = context.Request.Headers.Origin;
        if (IsAllowed(origin, allowedOrigins))
        {
            context.Response.Headers.AccessControlAllowOrigin = origin;
            context.Response.Headers.Vary = "Origin";
            context.Response.Headers.AccessControlExposeHeaders = ExposedHeaders;
        }
    }

    private static bool IsAllowed(string? origin, IReadOnlyList<string> allowedOrigins) =>
        !string.IsNullOrEmpty(origin) && allowedOrigins.Any(a => a == "*" || string.Equals(a, origin, StringComparison.OrdinalIgnoreCase));
}
