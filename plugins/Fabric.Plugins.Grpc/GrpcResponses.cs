using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Fabric.Plugins.Grpc;

/// <summary>Ends a call with a gRPC status: Trailers-Only when nothing was sent yet, trailers after the messages otherwise.</summary>
internal static class GrpcResponses
{
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";

    /// <summary>Writes the status and completes the response. False when the response can no longer carry it.</summary>
    public static async Task<bool> EndWithStatusAsync(HttpContext context, GrpcStatusCode code, string? message)
    {
        string status = ((int)code).ToString(CultureInfo.InvariantCulture);
        HttpResponse response = context.Response;
        if (!response.HasStarted)
        {
            // Trailers-Only: one HEADERS frame that ends the stream. CORS allowances stay (a browser must read the status).
            KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>[] cors = [.. response.Headers.Where(h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase) || h.Key == "Vary")];
            response.Clear();
            foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in cors)
            {
                response.Headers[header.Key] = header.Value;
            }

            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers[StatusHeader] = status;
            if (!string.IsNullOrEmpty(message))
            {
                response.Headers[MessageHeader] = GrpcWire.EncodeMessage(message);
            }
        }
        else if (context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { IsReadOnly: false } trailers)
        {
            trailers[StatusHeader] = status;
            if (!string.IsNullOrEmpty(message))
            {
                trailers[MessageHeader] = GrpcWire.EncodeMessage(message);
            }
        }
        else
        {
            return false;
        }

        await response.CompleteAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>The status the call ended with as the client sees it (trailers, or headers for Trailers-Only), or -1.</summary>
    public static int StatusOf(HttpContext context)
    {
        string? value = context.Response.Headers[StatusHeader];
        if (string.IsNullOrEmpty(value))
        {
            value = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers?[StatusHeader];
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int code) ? code : -1;
    }
}
