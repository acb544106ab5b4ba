using Microsoft.AspNetCore.Http;

namespace Fabric.Plugins.Http;

/// <summary>
/// Refuses with 400, before anything is forwarded, the requests that let a front end and a back end disagree on where
/// a request ends: Content-Length together with Transfer-Encoding, or more than one Content-Length (RFC 9112 §6.3).
/// Kestrel itself answers 400 to repeated Content-Length; for Content-Length with Transfer-Encoding it drops the
/// Content-Length, keeps it as <c>X-Content-Length</c> and serves the request — this guard refuses it instead.
/// </summary>
internal static class RequestSmugglingGuard
{
    public static Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        IHeaderDictionary headers = context.Request.Headers;
        bool conflicting = headers.TransferEncoding.Count > 0 && (headers.ContentLength.HasValue || headers.ContainsKey("X-Content-Length"))
            || headers["Content-Length"].Count > 1
            || headers["Content-Length"].Any(v => v is not null && v.Contains(',', StringComparison.Ordinal));
        if (!conflicting)
        {
            return next();
        }

        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("400 Bad Request: conflicting message length (Content-Length with Transfer-Encoding, or several Content-Length).\n");
    }
}
